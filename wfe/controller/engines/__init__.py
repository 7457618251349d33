"""Execution engines: one module per engine behind :class:`~.base.ExecutionEngine`, chosen per
WorkflowExecution by spec.workflowRef.executionEngine (default ``tekton``)."""

from wfe.controller.engines.base import ExecutionEngine, Verdict
from wfe.controller.engines.registry import (
    DEFAULT_ENGINE,
    KNOWN_ENGINES,
    EngineRegistry,
    engine_name_of,
)

__all__ = [
    "DEFAULT_ENGINE",
    "KNOWN_ENGINES",
    "EngineRegistry",
    "ExecutionEngine",
    "Verdict",
    "engine_name_of",
]
