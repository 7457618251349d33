"""Runs one API call per item on a few threads, the way a busy client would, timing each call."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from bench.sizes import LOAD_THREADS

T = TypeVar("T")


@dataclass(frozen=True)
class Batch:
    wall_seconds: float
    started_at: list[float]  # time.monotonic() as each call began, in item order
    durations: list[float]  # seconds each call took, in item order

    @property
    def rate(self) -> float:
        """Calls per second over the whole batch."""
        return len(self.durations) / self.wall_seconds


def timed_calls(
    call: Callable[[T], object], items: Sequence[T], threads: int = LOAD_THREADS
) -> Batch:
    """Calls ``call(item)`` for every item on ``threads`` threads (1: in order, on this thread).

    The first exception propagates once the calls already running have returned.
    """
    started_at = [0.0] * len(items)
    durations = [0.0] * len(items)

    def one(index: int) -> None:
        started_at[index] = time.monotonic()
        call(items[index])
        durations[index] = time.monotonic() - started_at[index]

    began = time.monotonic()
    if threads <= 1:
        for index in range(len(items)):
            one(index)
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-load") as pool:
            for _ in pool.map(one, range(len(items))):
                pass
    return Batch(time.monotonic() - began, started_at, durations)
