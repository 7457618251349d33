"""Watches what the controller creates while a scenario runs, to prove nothing ran twice."""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType

from wfe.controller.resources import PIPELINE_RUNS
from wfe.runtime.client import Client, WatchStream


class PipelineRunCreations:
    """Counts every PipelineRun ADDED in a namespace from now on, and keeps the last version of
    each one seen (a context manager): a run's verdict stays readable after the controller
    released the lock by deleting it."""

    def __init__(self, admin: Client, namespace: str):
        self._admin = admin
        self._namespace = namespace
        self._added: Counter[str] = Counter()
        self._uids: set[str] = set()
        self._latest: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stream: WatchStream | None = None
        self._thread = threading.Thread(target=self._run, name="pipelinerun-watch", daemon=True)

    def __enter__(self) -> PipelineRunCreations:
        listed = self._admin.list(PIPELINE_RUNS, self._namespace)
        self._uids = {item["metadata"]["uid"] for item in listed["items"]}
        self._resource_version = listed["metadata"]["resourceVersion"]
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._stream is not None:
            self._stream.close()
        self._thread.join(timeout=10)

    def names(self) -> list[str]:
        """One entry per PipelineRun created, so a name created twice appears twice."""
        with self._lock:
            return list(self._added.elements())

    def latest(self, name: str) -> dict[str, object] | None:
        """The last version of PipelineRun ``name`` seen since entering (deleted ones included)."""
        with self._lock:
            return self._latest.get(name)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stream = self._admin.watch(
                PIPELINE_RUNS,
                self._namespace,
                resource_version=self._resource_version,
                timeout_seconds=300,
            )
            try:
                for event in self._stream:
                    meta = event.object.get("metadata", {})
                    if meta.get("resourceVersion"):
                        self._resource_version = meta["resourceVersion"]
                    with self._lock:
                        if event.type in ("ADDED", "MODIFIED", "DELETED") and meta.get("name"):
                            self._latest[meta["name"]] = event.object
                        if event.type == "ADDED" and meta.get("uid") not in self._uids:
                            self._uids.add(meta["uid"])
                            self._added[meta["name"]] += 1
            except Exception:
                if self._stop.is_set():
                    return
                raise
