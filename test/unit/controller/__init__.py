"""Unit tests of the WorkflowExecution controller's pure logic."""
