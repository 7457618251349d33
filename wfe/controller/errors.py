"""The five error categories of SPEC §7 and how an exception is counted."""

from __future__ import annotations

from enum import StrEnum

from wfe.controller import metrics
from wfe.runtime.client import ApiError


class ErrorCategory(StrEnum):
    VALIDATION = "validation"
    EXTERNAL = "external"
    PERMISSION = "permission"
    EXECUTION = "execution"
    SYSTEM = "system"


def count(category: ErrorCategory, reason: str) -> None:
    metrics.ERRORS.labels(category=category.value, reason=reason).inc()


def count_exception(err: BaseException) -> None:
    """Counts an exception that escapes a reconcile: API errors are external, the rest system."""
    if isinstance(err, ApiError):
        category = ErrorCategory.PERMISSION if err.status == 403 else ErrorCategory.EXTERNAL
        count(category, err.reason or str(err.status))
    else:
        count(ErrorCategory.SYSTEM, type(err).__name__)
