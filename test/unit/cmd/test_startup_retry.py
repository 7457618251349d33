"""Start-up checks ride out transient API errors within a bounded window (issue 9, item 15)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wfe.runtime.client import ApiConnectionError, ApiError
from wfe.startup_retry import retry_transient


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(errors: list[ApiError], result: str = "served") -> Callable[[], str]:
    def step() -> str:
        if errors:
            raise errors.pop(0)
        return result

    return step


@pytest.mark.parametrize(
    "transient",
    [
        ApiError(403, "Forbidden", "RBAC not applied yet"),
        ApiError(401, "Unauthorized", "token not valid yet"),
        ApiConnectionError("connection refused"),
        ApiError(429, "TooManyRequests", "slow down"),
        ApiError(503, "ServiceUnavailable", "etcd leader changing"),
    ],
    ids=["403", "401", "refused", "429", "503"],
)
def test_transient_errors_are_retried_until_the_step_succeeds(transient: ApiError) -> None:
    time = FakeTime()
    step = failing([transient, transient, transient])
    result = retry_transient(step, what="check", sleep=time.sleep, clock=time.clock)
    assert result == "served"
    assert time.sleeps == [0.5, 1.0, 2.0]  # exponential backoff


def test_a_lasting_outage_gives_up_with_the_last_error_once_the_window_is_over() -> None:
    time = FakeTime()
    refused = [ApiConnectionError(f"connection refused #{n}") for n in range(1000)]
    with pytest.raises(ApiConnectionError, match="connection refused"):
        retry_transient(
            failing(refused),
            what="check",
            window=60.0,
            sleep=time.sleep,
            clock=time.clock,
        )
    assert time.now == pytest.approx(60.0)
    assert max(time.sleeps) == 5.0  # the backoff is capped


def test_a_definitive_answer_is_not_retried() -> None:
    time = FakeTime()
    with pytest.raises(ApiError, match="NotFound"):
        retry_transient(
            failing([ApiError(404, "NotFound", "no such API")]),
            what="check",
            sleep=time.sleep,
            clock=time.clock,
        )
    assert time.sleeps == []
