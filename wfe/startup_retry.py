"""Start-up steps that talk to the API server, retried through transient errors within a bounded
window: a 403 while the controller's RBAC is still being applied, a refused connection while the
API server restarts, a 429 or 5xx. A definitive answer (Tekton not installed) is not retried, and
once the window is over the last error stands, so a broken cluster still fails fast enough for
Kubernetes to show CrashLoopBackOff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TypeVar

import structlog

from wfe.runtime.client import ApiError

T = TypeVar("T")

STARTUP_RETRY_WINDOW_SECONDS: Final = 60.0
_INITIAL_DELAY_SECONDS: Final = 0.5
_MAX_DELAY_SECONDS: Final = 5.0

log = structlog.get_logger("wfe.setup")


def is_transient_at_startup(err: ApiError) -> bool:
    """Worth waiting for: no connection (0), not yet authorised (401/403: credentials or RBAC
    still propagating), throttled (429) or a server error (5xx)."""
    return err.status in (0, 401, 403, 429) or err.status >= 500


def retry_transient(
    step: Callable[[], T],
    *,
    what: str,
    window: float = STARTUP_RETRY_WINDOW_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``step()``, retried with exponential backoff (0.5 s .. 5 s) while it raises a transient
    ApiError and the window lasts; then its last error is raised."""
    deadline = clock() + window
    delay = _INITIAL_DELAY_SECONDS
    attempt = 1
    while True:
        try:
            return step()
        except ApiError as err:
            remaining = deadline - clock()
            if not is_transient_at_startup(err) or remaining <= 0:
                raise
            log.warning(
                "start-up step failed, retrying",
                step=what,
                attempt=attempt,
                error=str(err),
                retry_in=round(min(delay, remaining), 2),
            )
            sleep(min(delay, remaining))
            delay = min(delay * 2, _MAX_DELAY_SECONDS)
            attempt += 1
