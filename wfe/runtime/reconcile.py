"""What a reconciler is asked to do (`Request`) and what it answers (`Result`), as controller-runtime."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Request:
    """The key of the object to reconcile; namespace is empty for cluster-scoped objects."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Result:
    """`requeue_after` seconds > 0 reconciles the object again after that delay."""

    requeue_after: float | None = None
