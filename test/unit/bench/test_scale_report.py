"""How the scale and soak reports read: each target with its verdict, samples over time."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from bench.environment import Environment
from bench.scale import report, soak_report
from bench.scale.cold_start import ColdStart
from bench.scale.flip import Flip
from bench.scale.growth import growth
from bench.scale.paced import Paced
from bench.scale.run import ScaleResults, ScrapeCost, Seeding
from bench.scale.sizes import SCALE_SIZES
from bench.scale.soak import SoakResults, SoakSample, SoakSettings
from bench.scale.trickle import Counts
from bench.stats import Distribution

ENV = Environment("2026-11-30T15:00:00Z", 2, 2, "CPython 3.11", "Linux", "v1.37.2", "0.1.0")


def scale_results(
    cold_s: float, peak_mib: float, lock_within: float, sync_p99: float
) -> ScaleResults:
    checks = 1000.0
    return ScaleResults(
        size=SCALE_SIZES["full"],
        environment=ENV,
        seeding=Seeding({"completed": 8000}, 1250, 30.0, 20400),
        cold_start=ColdStart(10_000, 1.0, 2.5, 2.5, cold_s, 10_000, 4.0, 80.0, peak_mib),
        cold_start_writes={},
        scrape=ScrapeCost(0.4, 0.5, 80.0, 90.0),
        paced=Paced(200, 10.0, {0.001: lock_within * 200, 0.0025: 200.0, math.inf: 200.0}),
        flip=Flip(
            workflows=1000,
            pipeline_run_created=Distribution.of([0.5, 1.0]),
            all_running_s=20.0,
            verdicts_issued_s=2.0,
            synced=Distribution.of([0.1] * 98 + [sync_p99] * 2),
            written=Distribution.of([0.05] * 99 + [0.3]),
            all_completed_s=5.0,
            lock_checks={0.001: lock_within * checks, 0.0025: checks, math.inf: checks},
            reconcile_time={0.005: 900.0, 0.01: 1000.0, math.inf: 1000.0},
            status_sync={1.0: 1000.0, math.inf: 1000.0},
            queue_wait={0.01: 1500.0, math.inf: 2000.0},
            controller_cpu_s=10.0,
        ),
        rss_mib_after_flip=85.0,
        peak_rss_mib=peak_mib,
    )


def test_targets_met_read_yes() -> None:
    rows = report.rows(scale_results(cold_s=3.0, peak_mib=90.0, lock_within=0.995, sync_p99=0.9))
    assert [row.meets for row in rows if row.target != "—"] == ["yes"] * 6


def test_each_missed_target_reads_no() -> None:
    rows = report.rows(scale_results(cold_s=6.0, peak_mib=96.0, lock_within=0.98, sync_p99=1.2))
    assert [row.meets for row in rows if row.target != "—"] == ["**no**"] * 6
    lock = next(row for row in rows if row.figure.startswith("lock check, 1,000"))
    assert lock.value == "p99 ≤ 2.5 ms; 98.0 % ≤ 1 ms"


def test_the_scale_report_is_written_as_markdown_and_json(tmp_path: Path) -> None:
    results = scale_results(cold_s=3.0, peak_mib=90.0, lock_within=0.995, sync_p99=0.9)
    table = report.write(results, tmp_path)
    assert table.startswith("| figure | value | target | meets | note |")
    document = json.loads((tmp_path / "scale.json").read_text())
    assert document["cold_start"]["to_drained_s"] == 3.0
    assert len(document["figures"]) == len(report.rows(results))
    assert "8,000 completed" in (tmp_path / "scale.md").read_text()


def test_the_scale_report_names_the_virtualenv_the_controller_ran_from(tmp_path: Path) -> None:
    # a run with WFE_BENCH_CONTROLLER_VENV=dev measures the dev virtualenv's memory, not the image's
    results = scale_results(cold_s=3.0, peak_mib=90.0, lock_within=0.995, sync_p99=0.9)
    dev = dataclasses.replace(ENV, controller_venv="the dev virtualenv")
    report.write(dataclasses.replace(results, environment=dev), tmp_path)
    text = (tmp_path / "scale.md").read_text()
    assert "`wfe-controller` from the dev virtualenv," in text
    assert "runtime-only" not in text


def soak_results(
    rss_step_kib: float, created_per_sample: int = 20, flat_from_created: int | None = None
) -> SoakResults:
    def rss(t: int) -> int:
        grown = t if flat_from_created is None else min(t, flat_from_created // created_per_sample)
        return int(70_000 + rss_step_kib * grown)

    samples = [
        SoakSample(
            t_s=t * 10.0,
            rss_kib=rss(t),
            peak_rss_kib=rss(t),
            open_fds=12,
            cpu_s=t * 0.5,
            created=t * created_per_sample,
            deleted=max(0, t * 20 - 120),
            live=min(t * 20, 120),
            reconciles=t * 80.0,
        )
        for t in range(181)  # 30 minutes
    ]
    times = [s.t_s for s in samples]

    return SoakResults(
        settings=SoakSettings(minutes=30),
        environment=ENV,
        samples=samples,
        counts=Counts(3600, 3420, 3100, 320, 180, 3600, [0.05, 0.1]),
        rss=growth(
            times,
            [float(s.rss_kib) for s in samples],
            unit="KiB",
            budget=250_000.0,
            tolerated_fraction_per_day=0.1,
        ),
        fds=growth(
            times,
            [float(s.open_fds) for s in samples],
            unit="fds",
            budget=1024.0,
            tolerated_fraction_per_day=0.1,
        ),
        seconds=1800.0,
    )


def test_a_flat_soak_reads_no_growth_and_shows_a_sample_a_minute() -> None:
    results = soak_results(rss_step_kib=0.0)
    rows = {row.figure.split(":")[0]: row for row in soak_report.rows(results)}
    assert rows["controller RSS"].meets == "yes"
    assert rows["controller open file descriptors"].meets == "yes"
    assert rows["controller RSS"].value == "+0.00 MiB/h (+0.0 MiB/day)"
    # 2 workflows/s: the recorder's caches (4,096 workflows) are not full within 30 minutes
    assert rows["controller RSS once the Event recorder's caches are full"].value == "not reached"
    lines = soak_report.samples_table(results.samples).splitlines()
    assert len(lines) == 2 + 31  # header, then minutes 0..30
    assert lines[2].startswith("| 0.0 | 68.4 |")


def test_a_leaking_soak_reads_growth() -> None:
    results = soak_results(rss_step_kib=10.0)  # 10 KiB every 10 s: 3.5 MiB/h
    row = soak_report.rows(results)[0]
    assert row.meets == "**no**"
    assert row.value == "+3.52 MiB/h (+84.4 MiB/day)"


def test_a_rise_that_stops_once_the_recorders_caches_are_full_reads_flat_after_it() -> None:
    # 4 workflows/s: the caches are full after 4,096 (minute 17); the RSS rises until then
    results = soak_results(rss_step_kib=100.0, created_per_sample=40, flat_from_created=4_096)
    main, after_full = soak_report.rows(results)[:2]
    assert main.meets == "**no**", "the second half still sees the end of the filling"
    assert after_full.meets == "yes"
    assert after_full.value == "+0.00 MiB/h (+0.0 MiB/day)"
    assert "minutes 17 to 30 (from 4,096 created on)" in after_full.figure


def test_the_soak_report_is_written_as_markdown_and_json(tmp_path: Path) -> None:
    soak_report.write(soak_results(rss_step_kib=0.0), tmp_path)
    document = json.loads((tmp_path / "soak.json").read_text())
    assert len(document["samples"]) == 181
    assert document["rss_growth"]["grows"] is False
    assert "synced_s" not in document["counts"]
    assert "## Samples" in (tmp_path / "soak.md").read_text()
