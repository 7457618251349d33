"""Which engines this controller serves, and which engine a WorkflowExecution asks for."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from api.workflowexecution.v1alpha1.constants import DEFAULT_EXECUTION_ENGINE
from wfe.controller.engines.base import ExecutionEngine
from wfe.controller.engines.job import JobEngine
from wfe.controller.engines.tekton import TektonEngine

Object = dict[str, Any]

DEFAULT_ENGINE: Final = str(DEFAULT_EXECUTION_ENGINE)
# Every engine this controller knows, by name: a new engine is one module plus one entry here.
KNOWN_ENGINES: Final[dict[str, type[ExecutionEngine]]] = {
    TektonEngine.name: TektonEngine,
    JobEngine.name: JobEngine,
}


def engine_name_of(wfe: Object) -> str:
    """spec.workflowRef.executionEngine; objects written before the field existed mean Tekton."""
    workflow_ref = (wfe.get("spec") or {}).get("workflowRef") or {}
    name = workflow_ref.get("executionEngine")
    return name if isinstance(name, str) and name else DEFAULT_ENGINE


class EngineRegistry:
    """The engines served by this controller (``--engines``), by name."""

    def __init__(self, engines: Iterable[ExecutionEngine]):
        self._by_name: dict[str, ExecutionEngine] = {engine.name: engine for engine in engines}

    @classmethod
    def of(cls, names: Iterable[str]) -> EngineRegistry:
        """The engines named (``--engines``); ``ValueError`` for a name no module implements."""
        unknown = [name for name in names if name not in KNOWN_ENGINES]
        if unknown:
            raise ValueError(
                f"unknown execution engine(s) {', '.join(unknown)}; known: "
                f"{', '.join(KNOWN_ENGINES)}"
            )
        return cls(KNOWN_ENGINES[name]() for name in names)

    def __iter__(self) -> Iterator[ExecutionEngine]:
        return iter(self._by_name.values())

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> ExecutionEngine | None:
        return self._by_name.get(name)

    def for_workflow_execution(self, wfe: Object) -> ExecutionEngine | None:
        """The engine ``wfe`` asks for, or None when this controller does not serve it."""
        return self._by_name.get(engine_name_of(wfe))
