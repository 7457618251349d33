"""Scale and soak benchmarks of the controller running as its own process (issue 10, item 3).

``python -m bench.scale``: 10,000 WorkflowExecutions in the cluster (cold start, memory, lock check)
and 1,000 Running ones whose PipelineRuns succeed at once (sync latency). ``python -m bench.soak``:
a steady trickle for 30 minutes, sampling the controller's RSS and open files.
"""
