"""Time source for the work queues: a monotonic real clock and a fake one that tests step by hand.

Like k8s.io/utils/clock, a clock also owns waiting, so a fake clock can wake sleepers when it steps.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds, and a way to wait on a condition for a span of this clock's time."""

    def now(self) -> float:
        """Return the current time in seconds (monotonic, arbitrary origin)."""
        ...

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on ``condition`` (which the caller holds) until notified or ``timeout`` passes.

        ``None`` waits until notified. Like ``Condition.wait`` it may return early; callers re-check.
        """
        ...


class RealClock:
    """The process's monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        condition.wait(timeout)


REAL_CLOCK = RealClock()


class FakeClock:
    """A clock that moves only when ``step`` is called; waiters whose deadline passes are woken."""

    def __init__(self, start: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self._now = start
        self._waiters: list[tuple[float, threading.Condition]] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        # Registering under the clock's lock while the caller holds `condition` means a concurrent
        # step() either sees this waiter (and can only notify once we are inside wait()) or
        # happened before the deadline was computed: no wake-up is lost.
        with self._lock:
            deadline = float("inf") if timeout is None else self._now + timeout
            waiter = (deadline, condition)
            self._waiters.append(waiter)
        try:
            condition.wait()
        finally:
            with self._lock:
                self._waiters.remove(waiter)

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds`` and wake every waiter whose deadline has been reached."""
        with self._lock:
            self._now += seconds
            due = [condition for deadline, condition in self._waiters if deadline <= self._now]
        for condition in due:
            with condition:
                condition.notify_all()

    def deadlines(self) -> list[float]:
        """When each waiting thread wants to wake, earliest first (``inf``: only when notified).

        Lets a test see that a loop has gone back to sleep, and until when.
        """
        with self._lock:
            return sorted(deadline for deadline, _ in self._waiters)
