"""Around every benchmark run: a failure exits 1 with a message, a run writes and prints its report."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import EXIT_ERROR, run_and_report


def test_a_run_that_fails_exits_1_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> int:
        raise RuntimeError("control plane did not start")

    said: list[str] = []
    code = run_and_report("bench.x", broken, lambda _: "table", (Path("x.md"),), said.append)
    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert "control plane did not start" in err
    assert "bench.x: failed (everything started was torn down)" in err
    assert said == []  # no report claimed


def test_a_run_writes_its_report_and_prints_the_main_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "x.md"

    def write(results: int) -> str:
        report.write_text(f"{results} flips\n")
        return f"| flips | {results} |"

    said: list[str] = []
    code = run_and_report("bench.x", lambda: 6, write, (report,), said.append)
    assert code == 0
    assert report.read_text() == "6 flips\n"
    assert capsys.readouterr().out.strip() == "| flips | 6 |"
    assert said == [f"report in {report}"]
