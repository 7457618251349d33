"""``kubectl wfe``: a read-only kubectl plugin showing locks, cooldowns and why a WorkflowExecution
ran, failed or was skipped. The controller never imports it (import-linter contract)."""
