"""API types of the WorkflowExecution controller (kubebuilder's api/): imports nothing of ours."""
