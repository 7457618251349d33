"""The repeated flip's report: each repeat's p99 in turn, their median, how many met the target."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bench.apiserver_requests import RequestKind, Settled
from bench.environment import Environment
from bench.flips.__main__ import main
from bench.scale.repeated_flips import FlipsResults, FlipsSettings, OneFlip, table, write
from bench.stats import Distribution

ENV = Environment("2026-12-01T05:00:00Z", 2, 2, "CPython 3.11", "Linux", "v1.37.2", "0.1.0")


EVENTS_POSTED = Settled(3.1, Counter({RequestKind("POST", "events", ""): 1000}))


def one(system: str, repeat: int, p99: float, written: float | None) -> OneFlip:
    synced = Distribution.of([0.2] * 98 + [p99] * 2)
    return OneFlip(
        system,
        16,
        repeat,
        synced,
        None if written is None else Distribution.of([0.1] * 98 + [written] * 2),
        7.5,
        EVENTS_POSTED if system == "ours" else None,
    )


def results() -> FlipsResults:
    return FlipsResults(
        FlipsSettings(workers=(16,), repeats=3),
        ENV,
        (
            one("ours", 1, 1.9, 0.55),
            one("bare client", 1, 1.2, 0.4),
            one("ours", 2, 0.6, 0.45),
            one("bare client", 2, 0.5, 0.35),
            one("ours", 3, 0.9, 0.5),
            one("bare client", 3, 1.1, None),
        ),
        warm_up=one("bare client", 0, 2.4, 0.4),
    )


def test_each_system_reads_its_repeats_in_turn_their_median_and_the_runs_that_met() -> None:
    rows = table(results()).splitlines()
    ours = next(r for r in rows if r.startswith("| ours | 16 |"))
    bare = next(r for r in rows if r.startswith("| bare client | 16 |"))
    assert "| 1.90, 0.60, 0.90 | 0.90 | 2 of 3 | 0.55, 0.45, 0.50 |" in ours
    assert "| 1.20, 0.50, 1.10 | 1.10 | 1 of 3 | 0.40, 0.35, — |" in bare


def test_the_report_is_written_as_markdown_and_json(tmp_path: Path) -> None:
    write(results(), tmp_path)
    markdown = (tmp_path / "flips.md").read_text()
    assert "| ours | 16 |" in markdown
    assert (
        "Warm-up, not read: the bare client with 16 writers right after the seed, sync p99 2.40 s"
        in markdown
    )
    assert "ours, 16 workers, repeat 1; after the creates, 3.1s until quiet (1000 POST events)" in (
        markdown
    )
    saved = json.loads((tmp_path / "flips.json").read_text())
    assert [f["system"] for f in saved["flips"]][:2] == ["ours", "bare client"]
    assert saved["flips"][0]["settled"] == {"seconds": 3.1, "writes": {"POST events": 1000}}
    assert saved["flips"][1]["settled"] is None
    assert saved["flips"][5]["written"] is None
    assert saved["warm_up"]["synced"]["p99_s"] == 2.4


def test_six_flips_need_three_repeats_of_both_systems() -> None:
    assert FlipsSettings(workers=(16,), repeats=3).flips == 6
    assert FlipsSettings(workers=(4, 16), repeats=2, floor=False).flips == 4
    assert FlipsSettings(workers=(16,), repeats=3, go_peer=True).flips == 9


def test_the_go_peer_has_its_own_row_between_ours_and_the_bare_client() -> None:
    base = results()
    go = tuple(
        OneFlip("Go peer", 16, repeat, Distribution.of([0.9] * 98 + [p99] * 2), None, 5.5)
        for repeat, p99 in ((1, 1.8), (2, 2.1), (3, 0.95))
    )
    with_go = FlipsResults(
        FlipsSettings(workers=(16,), repeats=3, go_peer=True), ENV, base.flips + go, base.warm_up
    )
    rows = [r for r in table(with_go).splitlines() if r.startswith("| ") and "| 16 |" in r]
    assert [r.split(" | ")[0] for r in rows] == ["| ours", "| Go peer", "| bare client"]
    assert "| 1.80, 2.10, 0.95 | 1.80 | 1 of 3 | —, —, — |" in rows[1]


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "four"], ["--repeats", "0"]])
def test_bad_arguments_are_refused_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err
