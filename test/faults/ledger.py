"""What really happened, seen from outside the controller: every WorkflowExecution phase change and
every PipelineRun added or deleted, read by the test's own watches straight from the API server.

The watches resume from their last resourceVersion, and relist (counted as ``gaps``) only when the
API server says 410 Gone, so an API server restart or a compaction costs the ledger as little as
possible; PipelineRun creations are also counted exactly at the controller's proxy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import ApiError, Client, Resource

Object = dict[str, Any]
TERMINAL = frozenset({"Completed", "Failed", "Skipped"})
TARGET_ANNOTATION = "kubernaut.ai/target-resource"
WFE_UID_ANNOTATION = "kubernaut.ai/workflow-execution-uid"


def canonical_target(target: str) -> str:
    """A target as one object: kind lowercased and de-pluralised the simple way (SPEC §3)."""
    parts = target.split("/")
    kind = parts[-2].lower()
    short = {"deploy": "deployment", "sts": "statefulset", "ds": "daemonset", "no": "node"}
    kind = short.get(kind, kind)
    if kind.endswith("s") and not kind.endswith("ss"):
        kind = kind[:-1]
    parts[-2] = kind
    return "/".join(parts)


@dataclass
class WfeRecord:
    uid: str
    name: str
    phases: list[tuple[float, str]] = field(default_factory=list)
    reason: str | None = None  # failureDetails.reason or skip reason at the end

    @property
    def phase(self) -> str | None:
        return self.phases[-1][1] if self.phases else None

    @property
    def terminal_at(self) -> float | None:
        return next((at for at, phase in self.phases if phase in TERMINAL), None)


@dataclass
class Overlap:
    at: float
    target: str
    names: tuple[str, str]


class Ledger:
    """Watches WFEs in ``namespace`` and PipelineRuns in ``execution_namespace`` until ``close()``."""

    def __init__(self, client: Client, namespace: str, execution_namespace: str) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.wfes: dict[str, WfeRecord] = {}
        self.live_runs: dict[str, tuple[str, str]] = {}  # name -> (canonical target, wfe uid)
        self.run_uids_by_wfe: dict[str, set[str]] = {}
        self.overlaps: list[Overlap] = []
        self.gaps = 0
        self.on_run_added: list[Callable[[Object], None]] = []
        self._threads = [
            threading.Thread(
                target=self._follow,
                args=(WORKFLOW_EXECUTIONS, namespace, self._on_wfe),
                daemon=True,
                name="ledger-wfe",
            ),
            threading.Thread(
                target=self._follow,
                args=(PIPELINE_RUNS, execution_namespace, self._on_run),
                daemon=True,
                name="ledger-pr",
            ),
        ]
        self._synced = threading.Event()
        self._synced_count = 0

    def start(self) -> Ledger:
        for thread in self._threads:
            thread.start()
        if not self._synced.wait(30):
            raise AssertionError("the ledger's watches did not start")
        return self

    def close(self) -> None:
        self._stop.set()

    # --- queries -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, WfeRecord]:
        with self._lock:
            return {
                uid: WfeRecord(r.uid, r.name, list(r.phases), r.reason)
                for uid, r in self.wfes.items()
            }

    def terminal_count(self) -> int:
        with self._lock:
            return sum(1 for r in self.wfes.values() if r.phase in TERMINAL)

    # --- watching ------------------------------------------------------------------------------

    def _follow(
        self, resource: Resource, namespace: str, handle: Callable[[str, Object], None]
    ) -> None:
        version: str | None = None
        first = True
        while not self._stop.is_set():
            try:
                if version is None:
                    listed = self._client.list(resource, namespace)
                    handle("RESET", {})
                    for item in listed["items"]:
                        handle("RELISTED", item)
                    version = listed["metadata"]["resourceVersion"]
                    if first:
                        first = False
                        with self._lock:
                            self._synced_count += 1
                            if self._synced_count == len(self._threads):
                                self._synced.set()
                    else:
                        with self._lock:
                            self.gaps += 1
                stream = self._client.watch(
                    resource,
                    namespace,
                    resource_version=version,
                    timeout_seconds=60,
                    inactivity_timeout=90,
                )
                for event in stream:
                    if self._stop.is_set():
                        stream.close()
                        return
                    if event.type == "ERROR":
                        if (event.object or {}).get("code") == 410:
                            version = None
                        break
                    version = event.object["metadata"].get("resourceVersion", version)
                    if event.type != "BOOKMARK":
                        handle(event.type, event.object)
            except ApiError as err:
                if err.status == 410:
                    version = None
                time.sleep(0.2)
            except Exception:
                time.sleep(0.2)  # the API server is restarting: resume from the last version

    def _on_wfe(self, event_type: str, wfe: Object) -> None:
        if event_type in ("DELETED", "RESET"):
            return
        uid = wfe["metadata"]["uid"]
        status = wfe.get("status") or {}
        phase = status.get("phase")
        now = time.monotonic()
        with self._lock:
            record = self.wfes.setdefault(uid, WfeRecord(uid, wfe["metadata"]["name"]))
            if phase and record.phase != phase:
                record.phases.append((now, phase))
            record.reason = (status.get("failureDetails") or {}).get("reason") or (
                status.get("skipDetails") or {}
            ).get("reason")

    def _on_run(self, event_type: str, run: Object) -> None:
        if event_type == "RESET":
            with self._lock:
                self.live_runs.clear()
            return
        meta = run["metadata"]
        name = meta["name"]
        annotations = meta.get("annotations") or {}
        target = canonical_target(annotations.get(TARGET_ANNOTATION, name))
        wfe_uid = annotations.get(WFE_UID_ANNOTATION, "")
        added = False
        with self._lock:
            if event_type == "DELETED":
                self.live_runs.pop(name, None)
                return
            if name not in self.live_runs or self.live_runs[name][1] != wfe_uid:
                added = True
                for other, (other_target, _) in self.live_runs.items():
                    if other != name and other_target == target:
                        self.overlaps.append(Overlap(time.monotonic(), target, (other, name)))
            self.live_runs[name] = (target, wfe_uid)
            self.run_uids_by_wfe.setdefault(wfe_uid, set()).add(meta["uid"])
        if added:
            for callback in list(self.on_run_added):
                callback(run)
