"""Reconnect backoff for reflectors: client-go's ExponentialBackoffManager (800 ms → 30 s, jittered)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Backoff(Protocol):
    """Hands out the delay to wait before the next attempt."""

    def next_delay(self) -> float: ...


class ExponentialBackoff:
    """Doubling delays from ``initial`` up to ``cap``, each stretched by a random ``[0, jitter)`` share.

    With client-go's reflector settings (0.8 s, 30 s, factor 2, jitter 1.0) the waits run
    [0.8, 1.6), [1.6, 3.2), ... and settle in [30, 60) s. When no backoff was asked for during
    ``reset_after`` seconds the connection is deemed healthy and the next delay starts over.
    """

    def __init__(
        self,
        initial: float = 0.8,
        cap: float = 30.0,
        *,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        now: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ):
        if initial <= 0 or cap < initial or factor < 1 or jitter < 0:
            raise ValueError("backoff needs 0 < initial <= cap, factor >= 1 and jitter >= 0")
        self._initial = initial
        self._cap = cap
        self._factor = factor
        self._jitter = jitter
        self._reset_after = reset_after
        self._now = now
        self._rand = rand
        self._lock = threading.Lock()
        self._base = initial
        self._last_backoff_at: float | None = None

    def next_delay(self) -> float:
        with self._lock:
            now = self._now()
            if (
                self._last_backoff_at is not None
                and now - self._last_backoff_at > self._reset_after
            ):
                self._base = self._initial
            self._last_backoff_at = now
            base = self._base
            self._base = min(self._base * self._factor, self._cap)
        return base + self._rand() * self._jitter * base
