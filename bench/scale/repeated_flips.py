"""The flip, repeated: on one seeded cluster, ours with W workers and the bare client with W
writers (and, with ``--go-peer``, the Go peer with W workers) flip N Running WorkflowExecutions
each, in turns, R times (``python -m bench.flips``).

One flip is one sample of a tail that depends on how busy the machine's cores happen to be while
the verdicts land: on 2 cores shared by the API server, etcd, the load, the observer and the
controller, the same flip's p99 ranged 0.5-2.7 s from one run to the next. A target read from one
flip says little; this reads it from R of each, taken in turns so that both see the same machine.
Each flip of ours also reports its own share of the sync (verdict issued → its Completed write
returned, from its log): what the controller can change, apart from the API server's delivery.

The first flip after the seed is slow to be delivered, whoever flips: the API server, having just
taken 20,000 writes in a minute, delivers watch events late (the bare client, with no controller
at all: p99 1.15-1.50 s in 7 runs of 12 when it went first, 0.34-0.65 s later). A real
cluster's API server is not fresh from such a seed, so a warm-up flip by the bare client goes
first; it is reported, and no system is read from it.

``--go-peer`` adds the Go controller-runtime peer's flip to each turn, with as many workers: the
same flip (flip.py), so the same measurement.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cluster, environment
from bench.apiserver_requests import ApiServerRequests, Settled
from bench.observer import Observer
from bench.scale import capture, cold_start, controller, flip, floor, load, peer, seed
from bench.scale.report import SYNC_TARGET_S
from bench.scale.run import EXECUTION_NAMESPACE, NAMESPACE
from bench.scale.sizes import SCALE_SIZES, ScaleSize
from bench.stats import Distribution

Progress = Callable[[str], None]

OURS, BARE_CLIENT, GO_PEER = "ours", "bare client", "Go peer"
SYSTEMS = (OURS, GO_PEER, BARE_CLIENT)  # the order of the report's rows
NAME_TAGS = {OURS: "w", GO_PEER: "g"}  # in the flipped WorkflowExecutions' names (bare: "f")


@dataclass(frozen=True)
class FlipsSettings:
    workers: tuple[int, ...] = (16,)
    repeats: int = 3
    floor: bool = True  # also the bare client, with as many writers, after each flip of ours
    go_peer: bool = False  # also the Go controller-runtime peer, with as many workers
    size: ScaleSize = SCALE_SIZES["full"]  # its paced creates are not made here

    @property
    def flips(self) -> int:
        """Flips measured, the warm-up besides."""
        return self.repeats * len(self.workers) * (1 + self.floor + self.go_peer)


@dataclass(frozen=True)
class OneFlip:
    system: str  # one of SYSTEMS
    workers: int
    repeat: int
    synced: Distribution
    written: Distribution | None  # verdict issued → the Completed status write returned
    verdicts_issued_s: float
    settled: Settled | None = None  # a controller's: the wait for its creates' trailing writes

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "workers": self.workers,
            "repeat": self.repeat,
            "synced": self.synced.as_dict(),
            "written": self.written.as_dict() if self.written else None,
            "verdicts_issued_s": self.verdicts_issued_s,
            "settled": self.settled.as_dict() if self.settled else None,
        }


@dataclass(frozen=True)
class FlipsResults:
    settings: FlipsSettings
    environment: environment.Environment
    flips: tuple[OneFlip, ...]
    warm_up: OneFlip | None = None  # the bare client's, right after the seed: not read

    def of(self, system: str, workers: int) -> list[OneFlip]:
        return [f for f in self.flips if f.system == system and f.workers == workers]

    def as_dict(self) -> dict[str, Any]:
        return {
            "settings": {
                "workers": list(self.settings.workers),
                "repeats": self.settings.repeats,
                "floor": self.settings.floor,
                "go_peer": self.settings.go_peer,
                "size": self.settings.size.as_dict(),
            },
            "environment": self.environment.as_dict(),
            "warm_up": self.warm_up.as_dict() if self.warm_up else None,
            "flips": [f.as_dict() for f in self.flips],
        }


def run(settings: FlipsSettings, out: Path, progress: Progress) -> FlipsResults:
    size = settings.size
    with ExitStack() as teardown:
        plane = cluster.started_control_plane(teardown, progress)
        admin = plane.client()
        cluster.ensure_namespaces(admin, [NAMESPACE, EXECUTION_NAMESPACE])
        setting = environment.collect(admin, plane.binaries)
        templates, captured_at = capture.capture(
            admin, plane.kubeconfig, EXECUTION_NAMESPACE, out / "controller-templates.log"
        )
        plan = seed.plan(size.workflow_executions)
        seconds, _ = load.seed_in_child(
            plane.kubeconfig, NAMESPACE, templates, plan.items, captured_at
        )
        progress(f"seeded {len(plan.items)} WorkflowExecutions in {seconds:.1f}s")
        targets = plan.free_targets(size.flip * (settings.flips + 1))
        chunks = [targets[i : i + size.flip] for i in range(0, len(targets), size.flip)]
        observer = Observer(plane.client(), NAMESPACE, EXECUTION_NAMESPACE)
        teardown.callback(observer.stop)
        observer.start()
        requests = ApiServerRequests(plane)
        cached = len(plan.items)

        def bare_flip(repeat: int, workers: int) -> OneFlip:
            flipped = floor.measure_flip(
                observer,
                plane.kubeconfig,
                templates,
                captured_at,
                chunks.pop(0),
                size.wait_timeout,
                workers,
                prefix=f"r{repeat}f{workers}",
            )
            return OneFlip(
                BARE_CLIENT,
                workers,
                repeat,
                flipped.synced,
                flipped.written,
                flipped.verdicts_issued_s,
            )

        def controller_flip(
            system: str, launch: cold_start.Launchable, repeat: int, workers: int
        ) -> OneFlip:
            process, _ = cold_start.measure(launch, cached)
            try:
                flipped = flip.measure(
                    process,
                    observer,
                    requests,
                    plane.kubeconfig,
                    chunks.pop(0),
                    size.wait_timeout,
                    prefix=f"r{repeat}{NAME_TAGS[system]}{workers}",
                )
            finally:
                process.stop()
            return OneFlip(
                system,
                workers,
                repeat,
                flipped.synced,
                flipped.written,
                flipped.verdicts_issued_s,
                flipped.settled,
            )

        def taken(one: OneFlip) -> None:
            nonlocal cached
            cached += size.flip
            flips.append(one)
            progress(_line(one))

        flips: list[OneFlip] = []
        warm_up = bare_flip(0, max(settings.workers))
        cached += size.flip
        progress(f"warm-up: {_line(warm_up)}")
        for repeat in range(1, settings.repeats + 1):
            for workers in settings.workers:
                ours = controller.Launch(
                    plane.kubeconfig,
                    EXECUTION_NAMESPACE,
                    out / f"controller-{workers}w-{repeat}.log",
                    extra_flags=(f"--max-concurrent-reconciles={workers}",),
                )
                taken(controller_flip(OURS, ours, repeat, workers))
                if settings.floor:
                    taken(bare_flip(repeat, workers))
                if settings.go_peer:
                    go = peer.GoPeerLaunch(
                        peer.go_binary(),
                        plane.kubeconfig,
                        EXECUTION_NAMESPACE,
                        out / f"go-peer-{workers}w-{repeat}.log",
                        workers,
                    )
                    taken(controller_flip(GO_PEER, go, repeat, workers))
    return FlipsResults(settings, setting, tuple(flips), warm_up)


def _line(f: OneFlip) -> str:
    written = "" if f.written is None else f", status written p99 {f.written.p99:.2f}s"
    return (
        f"{f.system}, {f.workers} workers, repeat {f.repeat}: sync p50 {f.synced.p50:.2f}s "
        f"p99 {f.synced.p99:.2f}s{written}; verdicts over {f.verdicts_issued_s:.2f}s"
        f"{_trailing(f.settled)}"
    )


def _trailing(settled: Settled | None) -> str:
    """What the flip waited for before its verdicts: the creates' writes still landing."""
    if settled is None:
        return ""
    landed = ", ".join(f"{n} {kind}" for kind, n in settled.writes.most_common(3))
    return f"; after the creates, {settled.seconds:.1f}s until quiet ({landed or 'no writes'})"


# --- report ----------------------------------------------------------------------------------------


def table(results: FlipsResults) -> str:
    """One line per system and concurrency: each repeat's sync p99 in the order taken, their
    median, how many met the target, and the status-write share."""
    lines = [
        "| system | workers | sync p99 per repeat (s) | median p99 | p99 < 1 s | status written "
        "p99 per repeat (s) | verdicts written over (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for workers in results.settings.workers:
        for system in SYSTEMS:
            runs = results.of(system, workers)
            if not runs:
                continue
            p99s = [f.synced.p99 for f in runs]
            met = sum(p99 < SYNC_TARGET_S for p99 in p99s)
            written = ", ".join("—" if f.written is None else f"{f.written.p99:.2f}" for f in runs)
            lines.append(
                f"| {system} | {workers} | {', '.join(f'{p:.2f}' for p in p99s)} | "
                f"{statistics.median(p99s):.2f} | {met} of {len(runs)} | {written} | "
                f"{', '.join(f'{f.verdicts_issued_s:.1f}' for f in runs)} |"
            )
    return "\n".join(lines)


def write(results: FlipsResults, out: Path) -> str:
    main_table = table(results)
    warm = results.warm_up
    warm_text = (
        ""
        if warm is None
        else f"Warm-up, not read: the bare client with {warm.workers} writers right after the "
        f"seed, sync p99 {warm.synced.p99:.2f} s.\n\n"
    )
    waits = [
        f"{f.system}, {f.workers} workers, repeat {f.repeat}{_trailing(f.settled)}"
        for f in results.flips
        if f.settled
    ]
    waits_text = (
        "Before each controller's flip, its creates' trailing writes (flip.py waits for them): "
        + "; ".join(waits)
        + ".\n\n"
        if waits
        else ""
    )
    env = results.environment.as_dict()
    size = results.settings.size
    (out / "flips.md").write_text(
        f"# The flip, repeated\n\n{size.flip:,} Running WorkflowExecutions flipped to Succeeded "
        f"at once, with {size.workflow_executions:,} seeded; ours and the bare client in turns, "
        f"{results.settings.repeats} times. Sync: verdict issued → seen Completed by the observer. "
        f"Target: p99 < {SYNC_TARGET_S:g} s.\n\n{main_table}\n\n{warm_text}{waits_text}Environment: "
        f"{json.dumps(env, sort_keys=True)}\n"
    )
    (out / "flips.json").write_text(json.dumps(results.as_dict(), indent=2) + "\n")
    return main_table
