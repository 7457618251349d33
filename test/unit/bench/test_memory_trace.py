"""The soak's memory diagnostic: the traced controller's command line, its records, their reading."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest

from bench import heap_growth, traced_controller
from bench.scale.controller import TRACED_CONTROLLER, MemoryTrace


def test_a_traced_controller_runs_the_wrapper_with_its_own_virtualenvs_interpreter() -> None:
    trace = MemoryTrace(Path("/out/soak-memory"), interval_s=60, frames=0)

    command = trace.wrap(["/venvs/c/bin/wfe-controller", "--kubeconfig=k", "--audit-sink=none"])

    assert command == [
        "/venvs/c/bin/python",
        str(TRACED_CONTROLLER),
        "/out/soak-memory",
        "60",
        "0",
        "--",
        "--kubeconfig=k",
        "--audit-sink=none",
    ]
    assert TRACED_CONTROLLER.exists()


def test_records_are_read_back_and_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracemalloc.start(5)
    try:
        traced_controller._record(tmp_path, time.monotonic() - 10)
        grown = [bytearray(1024) for _ in range(200)]
        traced_controller._record(tmp_path, time.monotonic() - 20)
    finally:
        tracemalloc.stop()

    lines = heap_growth.memory_lines(tmp_path)
    assert [round(line["t"]) for line in lines] == [10, 20]
    assert lines[0]["rss_kib"] > 0 and lines[0]["types"]["dict"] > 0
    assert json.dumps(lines)  # plain JSON
    assert heap_growth.main([str(tmp_path), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "test_memory_trace.py" in out, "the growth is traced to the line that allocated it"
    assert len(grown) == 200
