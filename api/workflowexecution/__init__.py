"""The `workflowexecution.kubernaut.ai` API group."""
