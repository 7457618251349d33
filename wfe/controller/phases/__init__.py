"""One handler per phase of a WorkflowExecution (kubebuilder's reconcilePending/Running/... shape)."""
