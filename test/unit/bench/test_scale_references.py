"""The scale run's references (``--peers``): how each target reads against the Go peer and the bare
client's floor, the report with and without them, and the phases read from either controller's log."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench.scale import controller, reference_report, report
from bench.scale.cold_start import ColdStart
from bench.scale.floor import BareList, FloorFlip
from bench.scale.references import ReferenceOptions, References
from bench.stats import Distribution
from unit.bench.test_scale_report import scale_results


@pytest.mark.parametrize(
    ("ours", "peer", "floor", "expected"),
    [
        (True, False, False, reference_report.MET),
        (False, True, None, reference_report.REACHABLE),
        (False, True, True, reference_report.REACHABLE),
        (False, False, True, reference_report.BOTH_MISS),
        (False, False, None, reference_report.NEITHER),
        (False, True, False, reference_report.UNREACHABLE),
        (False, None, False, reference_report.UNREACHABLE),
        (False, None, True, reference_report.FLOOR_BELOW),
        (False, None, None, reference_report.NOT_MET),
    ],
)
def test_a_missed_target_reads_as_reachable_or_not_from_who_meets_it(
    ours: bool, peer: bool | None, floor: bool | None, expected: str
) -> None:
    assert reference_report.reading(ours, peer, floor) == expected


def _cold(drained_s: float, peak_mib: float) -> ColdStart:
    return ColdStart(10_000, 0.5, 2.0, 1.0, drained_s, 10_000, 3.0, peak_mib * 0.8, peak_mib)


def _floor_flip(workers: int, p99: float) -> FloorFlip:
    synced = Distribution.of([0.1] * 98 + [p99] * 2)
    return FloorFlip(1000, workers, 2.0, synced, synced, p99 + 0.1)


def test_the_report_sets_each_target_beside_the_peer_and_the_floor(tmp_path: Path) -> None:
    ours = scale_results(cold_s=6.0, peak_mib=300.0, lock_within=0.995, sync_p99=4.0)
    peer_flip = dataclasses.replace(
        ours.flip, synced=Distribution.of([0.1] * 98 + [2.0] * 2), controller_cpu_s=2.0
    )
    refs = References(
        ReferenceOptions(more_workers=16),
        bare_list=BareList(10_000, 20, 1.5),
        peer_cold_start=_cold(drained_s=3.0, peak_mib=100.0),
        peer_cold_start_writes={},
        more_workers_flip=dataclasses.replace(
            ours.flip, synced=Distribution.of([0.1] * 98 + [3.0] * 2)
        ),
        peer_flip=peer_flip,
        floor_flips=(_floor_flip(4, 1.5), _floor_flip(16, 0.5)),
    )
    results = dataclasses.replace(ours, references=refs)

    cold, rss, lock, sync, more, span, cost = report.reference_rows(results)
    assert (cold.ratio, cold.reading) == ("2.00x", reference_report.REACHABLE)
    assert "0 API writes" in cold.peer
    assert (rss.ratio, rss.reading) == ("3.00x", reference_report.NEITHER)
    assert lock.reading == reference_report.MET
    assert (sync.ratio, sync.reading) == ("2.00x", reference_report.UNREACHABLE)
    assert "16 workers" in more.figure
    assert (more.ratio, more.reading) == ("0.75x ours with 4", reference_report.FLOOR_BELOW)
    assert span.ratio == "1.00x" and "16 workers: 5.00 s" in span.ours
    assert "4 workers: 1.60 s (verdicts over 2.00 s); 16 workers: 600.0 ms" in span.floor
    assert cost.ratio == "5.00x"  # 10 s of CPU over the flip against the peer's 2 s

    report.write(results, tmp_path)
    text = (tmp_path / "scale.md").read_text()
    assert "## References measured in the same run" in text
    assert (
        "| figure | target | ours | Go peer | ours ÷ Go | floor (bare client) | reading |" in text
    )
    document = json.loads((tmp_path / "scale.json").read_text())
    assert len(document["reference_figures"]) == len(report.reference_rows(results))
    assert document["references"]["floor_flips"][1]["workers"] == 16


def test_what_could_not_be_measured_is_said_with_the_reason(tmp_path: Path) -> None:
    ours = scale_results(cold_s=6.0, peak_mib=300.0, lock_within=0.995, sync_p99=4.0)
    refs = References(
        ReferenceOptions(more_workers=0, floor=False),
        not_measured={"Go peer cold start": "no Go peer at /nowhere (set WFE_PEERS_DIR)"},
    )
    report.write(dataclasses.replace(ours, references=refs), tmp_path)
    text = (tmp_path / "scale.md").read_text()
    assert "* Go peer cold start: no Go peer at /nowhere (set WFE_PEERS_DIR)" in text
    assert (
        "| cold start with 10,000 WFEs (process start → initial reconciles done) | < 5 s |" in text
    )


def test_without_peers_the_report_has_no_reference_section(tmp_path: Path) -> None:
    report.write(
        scale_results(cold_s=6.0, peak_mib=300.0, lock_within=0.995, sync_p99=4.0), tmp_path
    )
    assert "References" not in (tmp_path / "scale.md").read_text()
    assert json.loads((tmp_path / "scale.json").read_text())["reference_figures"] == []


def test_each_reference_flip_has_targets_of_its_own() -> None:
    assert ReferenceOptions().flips == 4  # ours with 16, the peer, the floor at 4 and at 16
    assert ReferenceOptions(more_workers=0).floor_workers == (4,)
    assert ReferenceOptions(peer=False, more_workers=0, floor=False).flips == 0


def test_phases_are_read_from_rfc3339_and_epoch_stamps(tmp_path: Path) -> None:
    log = tmp_path / "controller.log"
    log.write_text(
        "not json\n"
        '{"ts": "2026-11-30T17:00:01.500Z", "msg": "Starting EventSource"}\n'
        '{"ts": 1796058002.25, "msg": "Starting workers"}\n'
        '{"ts": 1796058009.0, "msg": "Starting workers"}\n'
        '{"ts": true, "msg": "other"}\n'
    )
    found = controller.log_times(log, ["Starting EventSource", "Starting workers", "other"])
    assert found == {"Starting EventSource": 1796058001.5, "Starting workers": 1796058002.25}


def test_the_completed_writes_are_read_back_per_workflow_execution(tmp_path: Path) -> None:
    log = tmp_path / "controller.log"
    log.write_text(
        '{"ts": "2026-12-01T05:00:01.500000Z", "msg": "workflow completed", "name": "flip-1"}\n'
        '{"ts": "2026-12-01T05:00:02Z", "msg": "workflow completed", "name": "flip-1"}\n'
        '{"ts": "2026-12-01T05:00:03Z", "msg": "lock released", "name": "flip-2"}\n'
        'not json "workflow completed"\n'
        '{"ts": "2026-12-01T05:00:04Z", "msg": "workflow completed", "name": "other-1"}\n'
    )
    found = controller.log_times_by_name(log, "workflow completed", ["flip-1", "flip-2"])
    assert found == {"flip-1": 1796101201.5}
