"""The parts of authenticated /metrics that need no API server: reading the bearer token and the
bounded, expiring cache of review answers (the reviews themselves: test/integration)."""

from __future__ import annotations

from email.message import Message

import pytest

from wfe.runtime.httpserver import Request
from wfe.runtime.metrics.auth import DelegatingAuthFilter, _bearer_token, _TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def", "abc.def"),
        ("bearer   abc", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("", None),
    ],
)
def test_bearer_token(header: str, token: str | None) -> None:
    assert _bearer_token(header) == token


def test_cached_answers_expire() -> None:
    clock = Clock()
    cache = _TtlCache(clock)
    cache.put("user", "alice", ttl=60)
    clock.now = 59.9
    assert cache.get("user") == (True, "alice")
    clock.now = 60.0
    assert cache.get("user") == (False, None)


def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    cache = _TtlCache(Clock(), max_entries=2)
    for key in ("a", "b", "c"):
        cache.put(key, key, ttl=60)
    assert cache.get("a") == (False, None)
    assert cache.get("b") == (True, "b") and cache.get("c") == (True, "c")


def test_a_request_without_a_bearer_token_is_refused_without_asking_the_api_server() -> None:
    gate = DelegatingAuthFilter(client=None)  # type: ignore[arg-type]  # never called
    headers = Message()
    headers["Authorization"] = "Basic dXNlcjpwYXNz"
    refusal = gate(Request("/metrics", "", headers))
    assert refusal is not None and refusal.status == 401
