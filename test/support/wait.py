"""Waiting on conditions with a timeout: the only way tests synchronise with asynchronous work."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | bool | None],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Polls ``condition`` until it returns something truthy and returns it; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = condition()
        except AssertionError as err:
            value, last = None, err
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {message} (last: {last!r})"
            )
        time.sleep(interval)
