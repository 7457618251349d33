"""The harness's side of the load generator: starts ``bench.load_worker`` as a process of its own
(optionally pinned to some CPUs) and sends it commands, one JSON line each way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.apiserver_requests import RequestKind
from bench.errors import BenchError

STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Batch:
    issued: dict[str, float]  # key -> time.monotonic() when its write was issued
    seconds: float  # wall time of the whole batch, in the load process

    @property
    def first(self) -> float:
        return min(self.issued.values())

    @property
    def rate(self) -> float:
        return len(self.issued) / self.seconds


class LoadProcess:
    def __init__(self, kubeconfig: Path, cpus: Collection[int] | None = None):
        cpu_set = frozenset(cpus) if cpus else None
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.load_worker", "--kubeconfig", str(kubeconfig)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            preexec_fn=(lambda: os.sched_setaffinity(0, cpu_set)) if cpu_set else None,  # noqa: PLW1509 - one syscall
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _call(self, **command: Any) -> dict[str, Any]:
        stdin, stdout = self._proc.stdin, self._proc.stdout
        if stdin is None or stdout is None:
            raise BenchError("the load process has no pipes")
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise BenchError(
                f"the load process exited ({self._proc.poll()}) during {command['op']}"
            )
        answer: dict[str, Any] = json.loads(line)
        if answer.get("error_count"):
            raise BenchError(
                f"load {command['op']}: {answer['error_count']} failed writes, e.g. "
                f"{answer['errors'][:3]}"
            )
        return answer

    def _batch(self, **command: Any) -> Batch:
        answer = self._call(**command)
        return Batch({k: float(v) for k, v in answer["issued"].items()}, float(answer["seconds"]))

    def create(
        self,
        namespace: str,
        items: Sequence[tuple[str, str]],
        threads: int,
        rate: float | None = None,
    ) -> Batch:
        """WorkflowExecutions ``(name, target)``; keyed by name."""
        return self._batch(
            op="create",
            namespace=namespace,
            items=[list(i) for i in items],
            threads=threads,
            rate=rate,
        )

    def succeed(
        self, namespace: str, pipeline_runs: Sequence[str], threads: int, rate: float | None = None
    ) -> Batch:
        """Tekton's verdict on each PipelineRun; keyed by PipelineRun name."""
        return self._batch(
            op="succeed", namespace=namespace, items=list(pipeline_runs), threads=threads, rate=rate
        )

    def reference(
        self, namespace: str, exec_namespace: str, items: Sequence[tuple[str, str]], threads: int
    ) -> Batch:
        """Every write of a workflow, bare (see ``load_worker.Load.reference``)."""
        return self._batch(
            op="reference",
            namespace=namespace,
            exec_namespace=exec_namespace,
            items=[list(i) for i in items],
            threads=threads,
        )

    def take_counts(self) -> Counter[RequestKind]:
        """The requests it made since the last call."""
        answer = self._call(op="counts")
        return Counter(
            {RequestKind(verb, res, sub): int(n) for verb, res, sub, n in answer["counts"]}
        )

    def stop(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
