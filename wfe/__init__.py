"""The WorkflowExecution controller."""

# The one place the version is written: pyproject.toml reads it (setuptools dynamic metadata), and
# the controller reports it without importlib.metadata (~1 MiB and ~50 ms of start-up).
__version__ = "0.1.0"
