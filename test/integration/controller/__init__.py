"""Integration tests of the WorkflowExecution controller against a real API server, playing Tekton."""
