"""Plays Tekton for a burst: each new PipelineRun gets a verdict (mostly success, some failures)
after a short random run time, written as Tekton writes it (PUT /status, conflicts retried, and
retried through API server outages). The moment each verdict was accepted is kept per WFE uid:
the clock of the "terminal within 60 s of Tekton's verdict" invariant."""

from __future__ import annotations

import heapq
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from integration.controller.tekton import progress, succeeded

from wfe.controller.resources import PIPELINE_RUNS
from wfe.controller.timestamps import format_time
from wfe.runtime.client import Client, is_conflict, is_not_found

from .ledger import WFE_UID_ANNOTATION

Object = dict[str, Any]


class TektonPlayer:
    """Hook ``on_new_run`` to a :class:`Ledger`; ``verdicts`` maps WFE uid → monotonic time of
    the verdict, ``succeeded`` WFE uid → whether Tekton said the run succeeded."""

    def __init__(
        self,
        client: Client,
        namespace: str,
        *,
        failure_ratio: float = 0.2,
        run_seconds: tuple[float, float] = (0.2, 1.5),
        seed: int = 0,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._failure_ratio = failure_ratio
        self._run_seconds = run_seconds
        self._random = random.Random(seed)
        self._lock = threading.Condition()
        self._due: list[tuple[float, str, str]] = []  # (when, run name, wfe uid)
        self._seen: set[tuple[str, str]] = set()
        self._stop = False
        self.paused = threading.Event()  # set: verdicts wait (a Tekton outage)
        self.verdicts: dict[str, float] = {}
        self.succeeded: dict[str, bool] = {}
        self.write_failures = 0
        self._threads = [
            threading.Thread(target=self._run, daemon=True, name=f"tekton-{i}") for i in range(2)
        ]

    def start(self) -> TektonPlayer:
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        with self._lock:
            self._stop = True
            self._lock.notify_all()

    def on_new_run(self, run: Object) -> None:
        conditions = (run.get("status") or {}).get("conditions") or []
        if any(
            c.get("type") == "Succeeded" and c.get("status") in ("True", "False")
            for c in conditions
        ):
            return  # already judged (a relist re-showed it)
        uid = (run["metadata"].get("annotations") or {}).get(WFE_UID_ANNOTATION, "")
        key = (run["metadata"]["name"], uid)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            delay = self._random.uniform(*self._run_seconds)
            heapq.heappush(self._due, (time.monotonic() + delay, key[0], uid))
            self._lock.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stop and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._lock.wait(wait)
                if self._stop:
                    return
                _, name, uid = heapq.heappop(self._due)
                fails = self._random.random() < self._failure_ratio
            self._judge(name, uid, fails)

    def _judge(self, name: str, uid: str, fails: bool) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self._stop:
            while self.paused.is_set() and not self._stop:
                time.sleep(0.1)
            try:
                current = self._client.get(PIPELINE_RUNS, name, self._namespace)
            except Exception as err:
                if is_not_found(err):
                    return
                time.sleep(0.2)
                continue
            annotations = current["metadata"].get("annotations") or {}
            if annotations.get(WFE_UID_ANNOTATION, "") != uid:
                return  # another WFE's run by now: this one was deleted and re-created
            now = datetime.now(UTC).replace(microsecond=0)
            status = current.setdefault("status", {})
            status["startTime"] = format_time(now - timedelta(seconds=1))
            status["completionTime"] = format_time(now)
            if fails:
                status["conditions"] = [succeeded("False", "Failed", progress(0, failed=1), now)]
            else:
                status["conditions"] = [succeeded("True", "Succeeded", progress(1), now)]
            try:
                self._client.update_status(PIPELINE_RUNS, current)
            except Exception as err:
                if is_not_found(err):
                    return
                if not is_conflict(err):
                    with self._lock:
                        self.write_failures += 1
                    time.sleep(0.2)
                continue
            with self._lock:
                self.verdicts[uid] = time.monotonic()
                self.succeeded[uid] = not fails
            return
