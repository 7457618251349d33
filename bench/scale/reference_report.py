"""The references next to each scale target (``--peers``): our value, the Go peer's, their ratio
and the bare client's floor, all measured in the same run, and what that makes of the target:

* **met**: ours meets it;
* **reachable here**: ours misses it, the Go peer meets it on this machine at the same moment;
* **not met by either controller; the floor is below the target**: the work no controller can
  avoid fits in the target (what stands in the way is controller overhead, the peer's too);
* **not reachable on this machine**: the floor alone misses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.scale.cold_start import ColdStart
from bench.scale.figures import NOT_APPLICABLE, mib_of_mb
from bench.scale.flip import Flip
from bench.scale.floor import FloorFlip
from bench.scale.references import References
from bench.stats import Distribution, histogram_quantile_bound, seconds

MET = "met"
REACHABLE = "not met; reachable here (the Go peer meets it)"
BOTH_MISS = "not met by either controller; the floor is below the target"
NEITHER = "not met by either controller"
FLOOR_BELOW = "not met; the floor is below the target"
UNREACHABLE = "not reachable on this machine (the floor alone misses it)"
NOT_MET = "not met"


@dataclass(frozen=True)
class ReferenceRow:
    figure: str
    target: str
    ours: str
    peer: str = NOT_APPLICABLE
    ratio: str = NOT_APPLICABLE  # ours ÷ peer
    floor: str = NOT_APPLICABLE
    reading: str = NOT_APPLICABLE

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def reading(ours_meets: bool, peer_meets: bool | None, floor_meets: bool | None) -> str:
    """What the target is on this machine, from who meets it (None: not measured)."""
    if ours_meets:
        return MET
    if floor_meets is False:
        return UNREACHABLE
    if peer_meets:
        return REACHABLE
    if peer_meets is False:
        return BOTH_MISS if floor_meets else NEITHER
    return FLOOR_BELOW if floor_meets else NOT_MET


def ratio(ours: float, peer: float | None) -> str:
    return NOT_APPLICABLE if peer is None or peer <= 0 else f"{ours / peer:.2f}x"


def _quantiles(d: Distribution) -> str:
    return f"{seconds(d.p50)} / {seconds(d.p95)} / **{seconds(d.p99)}**"


def rows(
    refs: References,
    seeded: int,
    cold: ColdStart,
    ours_flip: Flip,
    ours_lock_p99_s: float | None,
    targets: dict[str, float],
) -> list[ReferenceRow]:
    """``targets``: cold_start_s, rss_mib, lock_check_s, sync_s (issue 10)."""
    out = [
        _cold_start_row(refs, seeded, cold, targets["cold_start_s"]),
        _rss_row(refs, seeded, cold, targets["rss_mib"]),
        _lock_row(ours_lock_p99_s, targets["lock_check_s"]),
        _sync_row(refs, ours_flip, targets["sync_s"]),
    ]
    if refs.options.more_workers > 0:
        out.append(_more_workers_row(refs, ours_flip, targets["sync_s"]))
    out.append(_makespan_row(refs, ours_flip))
    out.append(_flip_cost_row(refs, ours_flip))
    return out


def _cold_start_row(refs: References, seeded: int, cold: ColdStart, target: float) -> ReferenceRow:
    peer = refs.peer_cold_start
    bare = refs.bare_list
    writes = sum((refs.peer_cold_start_writes or {}).values())
    peer_text = NOT_APPLICABLE
    if peer is not None:
        peer_text = f"{seconds(peer.to_drained_s)} (caches synced at "
        peer_text += f"{seconds(peer.to_workers_s) if peer.to_workers_s is not None else '?'}; "
        peer_text += f"{peer.cpu_s:.1f} s CPU; {writes:.0f} API writes)"
    return ReferenceRow(
        f"cold start with {seeded:,} WFEs (process start → initial reconciles done)",
        f"< {target:g} s",
        f"{seconds(cold.to_drained_s)} ({cold.cpu_s:.1f} s CPU)",
        peer_text,
        ratio(cold.to_drained_s, peer.to_drained_s if peer else None),
        NOT_APPLICABLE
        if bare is None
        else f"{seconds(bare.seconds)}: the LIST of {bare.objects:,} alone, bare client, "
        f"{bare.pages} page(s)",
        reading(
            cold.to_drained_s < target,
            None if peer is None else peer.to_drained_s < target,
            None if bare is None else bare.seconds < target,
        ),
    )


def _rss_row(refs: References, seeded: int, cold: ColdStart, target_mib: float) -> ReferenceRow:
    peer = refs.peer_cold_start
    return ReferenceRow(
        f"peak RSS through the cold start with {seeded:,} WFEs (VmHWM)",
        f"< {target_mib / mib_of_mb(1.0):g} MB ({target_mib:.1f} MiB)",
        f"{cold.peak_rss_mib:.0f} MiB",
        NOT_APPLICABLE if peer is None else f"{peer.peak_rss_mib:.0f} MiB",
        ratio(cold.peak_rss_mib, peer.peak_rss_mib if peer else None),
        NOT_APPLICABLE,
        reading(
            cold.peak_rss_mib < target_mib,
            None if peer is None else peer.peak_rss_mib < target_mib,
            None,
        ),
    )


def _lock_row(ours_p99_s: float | None, target: float) -> ReferenceRow:
    return ReferenceRow(
        "lock check p99, paced (the controller's histogram)",
        f"< {target * 1e3:g} ms",
        NOT_APPLICABLE if ours_p99_s is None else f"≤ {seconds(ours_p99_s)}",
        "not measured: the peer exposes no lock-check histogram",
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        MET if ours_p99_s is not None and ours_p99_s <= target else NOT_MET,
    )


def _floor_at(refs: References, workers: int) -> FloorFlip | None:
    return next((f for f in refs.floor_flips if f.workers == workers), None)


def _sync_row(refs: References, ours: Flip, target: float) -> ReferenceRow:
    peer = refs.peer_flip
    bare = _floor_at(refs, 4)
    return ReferenceRow(
        f"sync p50 / p95 / p99, {ours.workflows:,} flipped at once, 4 workers",
        f"p99 < {target:g} s",
        _flip_text(ours),
        NOT_APPLICABLE if peer is None else _quantiles(peer.synced),
        ratio(ours.synced.p99, peer.synced.p99 if peer else None),
        NOT_APPLICABLE if bare is None else _floor_text(bare),
        reading(
            ours.synced.p99 < target,
            None if peer is None else peer.synced.p99 < target,
            None if bare is None else bare.synced.p99 < target,
        ),
    )


def _more_workers_row(refs: References, ours_default: Flip, target: float) -> ReferenceRow:
    workers = refs.options.more_workers
    more = refs.more_workers_flip
    bare = _floor_at(refs, workers)
    if more is None:
        return ReferenceRow(
            f"sync p50 / p95 / p99, ours with {workers} workers",
            f"p99 < {target:g} s",
            "not measured",
        )
    return ReferenceRow(
        f"sync p50 / p95 / p99, ours with {workers} workers (ratio: against ours with 4)",
        f"p99 < {target:g} s",
        _flip_text(more),
        NOT_APPLICABLE,
        f"{more.synced.p99 / ours_default.synced.p99:.2f}x ours with 4",
        NOT_APPLICABLE if bare is None else _floor_text(bare),
        reading(more.synced.p99 < target, None, None if bare is None else bare.synced.p99 < target),
    )


def _flip_text(flip: Flip) -> str:
    if flip.written is None:
        return _quantiles(flip.synced)
    return f"{_quantiles(flip.synced)} (status write returned p99 {seconds(flip.written.p99)})"


def _floor_text(bare: FloorFlip) -> str:
    return (
        f"{_quantiles(bare.synced)} (status write returned p99 {seconds(bare.written.p99)}; "
        f"verdicts over {seconds(bare.verdicts_issued_s)})"
    )


def _makespan_row(refs: References, ours: Flip) -> ReferenceRow:
    """Sync is per workflow from its own verdict, so it also depends on how fast the verdicts
    arrive (a busier API server spreads them out); the whole flip's span does not."""
    peer, more = refs.peer_flip, refs.more_workers_flip

    def span(all_completed_s: float, verdicts_s: float) -> str:
        return f"{seconds(all_completed_s)} (verdicts over {seconds(verdicts_s)})"

    floors = "; ".join(
        f"{f.workers} workers: {span(f.all_completed_s, f.verdicts_issued_s)}"
        for f in refs.floor_flips
    )
    ours_text = span(ours.all_completed_s, ours.verdicts_issued_s)
    if more is not None:
        ours_text += (
            f"; {refs.options.more_workers} workers: "
            f"{span(more.all_completed_s, more.verdicts_issued_s)}"
        )
    return ReferenceRow(
        f"the whole flip: first verdict issued → all {ours.workflows:,} seen Completed (4 workers "
        "unless said)",
        NOT_APPLICABLE,
        ours_text,
        NOT_APPLICABLE if peer is None else span(peer.all_completed_s, peer.verdicts_issued_s),
        ratio(ours.all_completed_s, peer.all_completed_s if peer else None),
        floors or NOT_APPLICABLE,
    )


def _flip_cost_row(refs: References, ours: Flip) -> ReferenceRow:
    peer = refs.peer_flip

    def cost(f: Flip) -> str:
        reconciles = f.reconcile_time.get(float("inf"), 0.0)
        p99 = histogram_quantile_bound(f.reconcile_time, 0.99)
        return (
            f"{f.controller_cpu_s / f.workflows * 1e3:.1f} ms CPU/workflow; {reconciles:.0f} "
            f"reconciles (p99 ≤ {seconds(p99) if p99 is not None else '?'}); verdicts over "
            f"{seconds(f.verdicts_issued_s)}"
        )

    return ReferenceRow(
        "over the flip: controller CPU per workflow, reconciles, the load's verdict writes",
        NOT_APPLICABLE,
        cost(ours),
        NOT_APPLICABLE if peer is None else cost(peer),
        ratio(ours.controller_cpu_s, peer.controller_cpu_s if peer else None),
    )


def table(reference_rows: list[ReferenceRow]) -> str:
    lines = [
        "| figure | target | ours | Go peer | ours ÷ Go | floor (bare client) | reading |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.figure} | {r.target} | {r.ours} | {r.peer} | {r.ratio} | {r.floor} | {r.reading} |"
        for r in reference_rows
    ]
    return "\n".join(lines)


def not_measured(refs: References) -> str:
    if not refs.not_measured:
        return ""
    return "\n".join(
        ["Not measured in this run:", ""]
        + [f"* {what}: {why}" for what, why in refs.not_measured.items()]
    )
