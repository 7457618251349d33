"""References measured in the same scale run (``python -m bench.scale --peers``), so that a target
met or missed can be read against what else this machine achieves at the same moment:

* **the Go controller-runtime peer** (``bench/scale/peer.py``, 4 workers): its cold start on the
  same seeded cluster, started *before* ours (it must write nothing: the seeded statuses are done
  work for it too, and the harness counts its API writes), and its flip of N more Running
  WorkflowExecutions, after ours;
* **this controller with more workers** (``--max-concurrent-reconciles``, 16 by default) for one
  more flip: does sync move when the controller may have more writes in flight?
* **the floor** (``bench/scale/floor.py``): the bare client's paged LIST of every WorkflowExecution
  (what any cold start must read), and a flip with no controller, where the bare client makes the
  writes a controller cannot avoid as the verdicts land.

One controller runs at a time. The extra flips use targets of their own (after the paced and
flipped ones; at full size these have no history, which matters only to the lock check, not to
sync). A reference that cannot be measured is reported as such with the reason, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.apiserver_requests import WRITE_VERBS, ApiServerRequests, requests_by
from bench.controller_process import ControllerProcessError
from bench.errors import BenchError
from bench.observer import Observer
from bench.peers import PeerSetupError
from bench.scale import cold_start, controller, flip, floor, peer
from bench.scale.cold_start import ColdStart
from bench.scale.sizes import ScaleSize
from bench.scale.templates import Template

MORE_WORKERS = 16

# what a reference may fail with and still leave the run's own figures meaningful
_REFERENCE_ERRORS = (BenchError, ControllerProcessError, PeerSetupError, OSError)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReferenceOptions:
    peer: bool = True
    more_workers: int = MORE_WORKERS  # 0: no flip with more workers
    floor: bool = True

    @property
    def floor_workers(self) -> tuple[int, ...]:
        """The bare-client flips: at our default concurrency, and at the extra flip's."""
        if not self.floor:
            return ()
        return (floor.WORKERS, self.more_workers) if self.more_workers > 0 else (floor.WORKERS,)

    @property
    def flips(self) -> int:
        """Flips beyond ours, each on targets of its own."""
        return int(self.more_workers > 0) + int(self.peer) + len(self.floor_workers)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class References:
    options: ReferenceOptions
    bare_list: floor.BareList | None = None
    peer_cold_start: ColdStart | None = None
    peer_cold_start_writes: dict[str, float] | None = None  # by verb and resource
    more_workers_flip: flip.Flip | None = None
    peer_flip: flip.Flip | None = None
    peer_peak_rss_mib: float | None = None  # over its flip (its second start)
    floor_flips: tuple[floor.FloorFlip, ...] = ()  # by workers, ours (4) first
    # the restarts before the extra flips, with the cluster as ours left it (not the seeded one)
    restarts: dict[str, ColdStart] = field(default_factory=dict)
    not_measured: dict[str, str] = field(default_factory=dict)  # reference → why

    def as_dict(self) -> dict[str, Any]:
        def maybe(value: Any) -> Any:
            return None if value is None else value.as_dict()

        return {
            "options": self.options.as_dict(),
            "bare_list": maybe(self.bare_list),
            "peer_cold_start": maybe(self.peer_cold_start),
            "peer_cold_start_api_writes": self.peer_cold_start_writes,
            "more_workers_flip": maybe(self.more_workers_flip),
            "peer_flip": maybe(self.peer_flip),
            "peer_peak_rss_mib": self.peer_peak_rss_mib,
            "floor_flips": [f.as_dict() for f in self.floor_flips],
            "restarts": {name: cold.as_dict() for name, cold in self.restarts.items()},
            "not_measured": self.not_measured,
        }


class ReferenceRun:
    """Measures the references around our own run: ``before_ours`` on the freshly seeded cluster,
    ``after_ours`` once our controller has stopped."""

    def __init__(
        self,
        options: ReferenceOptions,
        size: ScaleSize,
        kubeconfig: Path,
        execution_namespace: str,
        out: Path,
        requests: ApiServerRequests,
        progress: Progress,
    ):
        self.options, self.size, self.kubeconfig = options, size, kubeconfig
        self.execution_namespace, self.out = execution_namespace, out
        self.requests, self.progress = requests, progress
        self.found: dict[str, Any] = {"restarts": {}, "not_measured": {}, "floor_flips": ()}

    def result(self) -> References:
        return References(self.options, **self.found)

    def _failed(self, reference: str, err: BaseException) -> None:
        why = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        self.found["not_measured"][reference] = why
        self.progress(f"{reference}: not measured ({why})")

    def _go(self, log: str) -> peer.GoPeerLaunch:
        return peer.GoPeerLaunch(
            peer.go_binary(), self.kubeconfig, self.execution_namespace, self.out / log
        )

    # --- before our controller starts -----------------------------------------------------------

    def before_ours(self, namespace: str, seeded: int) -> None:
        if self.options.floor:
            try:
                listed = floor.measure_list(self.kubeconfig, namespace)
            except _REFERENCE_ERRORS as err:
                self._failed("bare list", err)
            else:
                self.found["bare_list"] = listed
                self.progress(f"bare client: LIST of {listed.objects} in {listed.seconds:.2f}s")
        if self.options.peer:
            self._peer_cold_start(seeded)

    def _peer_cold_start(self, seeded: int) -> None:
        try:
            launch = self._go("go-peer-cold-start.log")
            before = self.requests.counts()
            process, cold = cold_start.measure(launch, seeded)
            try:
                writes = {
                    str(kind): float(count)
                    for kind, count in requests_by(before, self.requests.counts()).items()
                    if kind.verb in WRITE_VERBS
                }
            finally:
                process.stop()
        except _REFERENCE_ERRORS as err:
            self._failed("Go peer cold start", err)
            return
        self.found["peer_cold_start"], self.found["peer_cold_start_writes"] = cold, writes
        self.progress(
            f"Go peer cold start with {seeded}: drained after {cold.to_drained_s:.2f}s, RSS "
            f"{cold.rss_mib:.0f} MiB (peak {cold.peak_rss_mib:.0f} MiB), "
            f"{sum(writes.values()):.0f} API writes"
        )

    # --- after our controller stopped -----------------------------------------------------------

    def after_ours(
        self,
        observer: Observer,
        templates: dict[str, Template],
        captured_at: float,
        targets: list[str],
        cached: int,
    ) -> References:
        """``targets``: ``size.flip`` per extra flip; ``cached``: WorkflowExecutions in the cluster."""
        chunks = [targets[i : i + self.size.flip] for i in range(0, len(targets), self.size.flip)]
        if self.options.more_workers > 0:
            workers = self.options.more_workers
            launch = controller.Launch(
                self.kubeconfig,
                self.execution_namespace,
                self.out / f"controller-{workers}-workers.log",
                extra_flags=(f"--max-concurrent-reconciles={workers}",),
            )
            self._flip(
                f"ours with {workers} workers",
                "more_workers_flip",
                launch,
                observer,
                chunks.pop(0),
                cached,
            )
            cached += self.size.flip
        if self.options.peer:
            try:
                launch_peer = self._go("go-peer-flip.log")
            except _REFERENCE_ERRORS as err:
                self._failed("Go peer flip", err)
            else:
                self.found["peer_peak_rss_mib"] = self._flip(
                    "Go peer", "peer_flip", launch_peer, observer, chunks.pop(0), cached
                )
            cached += self.size.flip
        for workers in self.options.floor_workers:
            try:
                floored = floor.measure_flip(
                    observer,
                    self.kubeconfig,
                    templates,
                    captured_at,
                    chunks.pop(0),
                    self.size.wait_timeout,
                    workers,
                    prefix=f"floor{workers}w",
                )
            except _REFERENCE_ERRORS as err:
                self._failed(f"bare-client flip, {workers} workers", err)
            else:
                self.found["floor_flips"] = (*self.found["floor_flips"], floored)
                self.progress(
                    f"bare client, {workers} workers: flip of {floored.workflows} synced p99 "
                    f"{floored.synced.p99:.2f}s (status written p99 {floored.written.p99:.2f}s)"
                )
        return self.result()

    def _flip(
        self,
        who: str,
        key: str,
        launch: cold_start.Launchable,
        observer: Observer,
        targets: list[str],
        cached: int,
    ) -> float | None:
        """Starts ``launch`` (waiting for its initial reconciles), flips ``targets`` with it, stops
        it; returns its peak RSS (MiB), None when it failed (the reason is recorded)."""
        try:
            process, cold = cold_start.measure(launch, cached)
        except _REFERENCE_ERRORS as err:
            self._failed(f"{who} flip", err)
            return None
        try:
            self.found["restarts"][who] = cold
            prefix = "".join(c for c in who.lower() if c.isalnum())[:12]
            flipped = flip.measure(
                process,
                observer,
                self.requests,
                self.kubeconfig,
                targets,
                self.size.wait_timeout,
                prefix=prefix,
            )
            peak_mib = process.peak_rss_kib() / 1024
        except _REFERENCE_ERRORS as err:
            self._failed(f"{who} flip", err)
            return None
        finally:
            process.stop()
        self.found[key] = flipped
        self.progress(
            f"{who}: flip of {flipped.workflows} synced p99 {flipped.synced.p99:.2f}s, all "
            f"Completed {flipped.all_completed_s:.2f}s after the first verdict"
        )
        return peak_mib
