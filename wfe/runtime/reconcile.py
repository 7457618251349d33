"""What a reconciler is asked to do (`Request`), what it answers (`Result`), and its reconcile ID.

As controller-runtime: a reconciler raises to be retried with backoff, raises `TerminalError` to
give up until the object changes, and may read `current_reconcile_id()` to tag its logs.
"""

from __future__ import annotations

from contextvars import ContextVar
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
    """`requeue_after` seconds > 0 reconciles the object again after that delay.

    `requeue` (without a delay) retries with the rate limiter's backoff, as Go's `Result.Requeue`.
    """

    requeue_after: float | None = None
    requeue: bool = False


class TerminalError(Exception):
    """A failure that retrying cannot fix: counted as an error but not requeued."""


_reconcile_id: ContextVar[str | None] = ContextVar("reconcile_id", default=None)


def current_reconcile_id() -> str | None:
    """The ID of the reconcile running on this thread, or None outside a reconcile."""
    return _reconcile_id.get()


def set_current_reconcile_id(reconcile_id: str) -> None:
    """Makes ``reconcile_id`` the current reconcile ID of the current context (the controller runs
    each reconcile in a context of its own, so it ends with the reconcile)."""
    _reconcile_id.set(reconcile_id)
