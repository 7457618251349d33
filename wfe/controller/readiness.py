"""Readiness of the controller beyond its caches: each engine's API (Tekton's PipelineRun, batch
Jobs) is still served (SPEC §8).

Removing Tekton at run time makes the pod unready instead of letting every create fail silently.
Discovery is asked at most every 30 s, so probes stay cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

from wfe.controller.resources import PIPELINE_RUNS
from wfe.runtime.client import Client, Resource

RECHECK_INTERVAL_SECONDS: Final = 30.0


class ServedApiCheck:
    """A readyz check: None while ``resource`` is served, else why not (cached ``interval``)."""

    def __init__(
        self,
        client: Client,
        resource: Resource = PIPELINE_RUNS,
        *,
        interval: float = RECHECK_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client = client
        self._resource = resource
        self._interval = interval
        self._clock = clock
        self._checked_at: float | None = None
        self._last: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str | None:
        with self._lock:
            now = self._clock()
            if self._checked_at is None or now - self._checked_at >= self._interval:
                self._last = self._check()
                self._checked_at = now
            return self._last

    def _check(self) -> str | None:
        what = f"{self._resource.plural} ({self._resource.api_version})"
        try:
            served = self._client.is_served(self._resource)
        except Exception as err:
            return f"cannot tell whether {what} is served: {err}"
        if served:
            return None
        if self._resource == PIPELINE_RUNS:
            return f"{what} is no longer served: Tekton Pipelines must be installed"
        return f"{what} is no longer served"
