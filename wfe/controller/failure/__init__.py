"""Why an execution failed: classification, status.failureDetails and its summary (SPEC §5)."""
