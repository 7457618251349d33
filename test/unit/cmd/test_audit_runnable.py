"""The audit recorder's flush at shutdown is bounded by what is left of the manager's budget."""

from __future__ import annotations

import threading

import pytest

from wfe.cmd import AuditRunnable


class StubRecorder:
    def __init__(self) -> None:
        self.stopped_with: list[float] = []

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped_with.append(timeout)


@pytest.mark.parametrize(("left", "flush"), [(0.0, 0.0), (2.5, 2.5), (30.0, 5.0)])
def test_the_flush_gets_what_is_left_of_the_budget_up_to_five_seconds(
    left: float, flush: float
) -> None:
    recorder = StubRecorder()
    runnable = AuditRunnable(recorder)  # type: ignore[arg-type]
    runnable.start(threading.Event())

    runnable.stop()
    assert recorder.stopped_with == []  # stop() only asks; the bounded flush is in wait()
    assert runnable.wait(left)

    assert recorder.stopped_with == [flush]
