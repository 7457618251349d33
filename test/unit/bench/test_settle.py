"""The wait for a controller's trailing writes: until the API server's write count stops moving."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from bench.apiserver_requests import RequestCounts, RequestKind, wait_until_quiet

EVENTS = RequestKind("POST", "events", "")
STATUS = RequestKind("PUT", "workflowexecutions", "status")
LEASES = RequestKind("PUT", "leases", "")
LISTS = RequestKind("LIST", "workflowexecutions", "")


def readings(*steps: dict[RequestKind, int]) -> Iterator[RequestCounts]:
    """Cumulative counters: each step adds to the last; the final reading repeats."""
    total: RequestCounts = Counter()
    for step in steps:
        total = total + Counter(step)
        yield Counter(total)
    while True:
        yield Counter(total)


def test_waits_until_no_write_lands_and_reports_what_did() -> None:
    counters = readings(
        {EVENTS: 5},
        {EVENTS: 300, STATUS: 2},
        {EVENTS: 200},
        {LISTS: 7, LEASES: 3},  # reads and lease heartbeats do not keep the wait going
    )
    settled = wait_until_quiet(lambda: next(counters), quiet_s=0.0)
    assert settled.writes == Counter({EVENTS: 500, STATUS: 2})
    assert settled.as_dict()["writes"] == {"POST events": 500, "PUT workflowexecutions/status": 2}


def test_an_idle_api_server_is_quiet_after_one_interval() -> None:
    counters = readings({EVENTS: 10})
    settled = wait_until_quiet(lambda: next(counters), quiet_s=0.0)
    assert settled.writes == Counter()


def test_a_server_that_never_goes_quiet_is_left_at_the_limit() -> None:
    def busy() -> Iterator[RequestCounts]:
        n = 0
        while True:
            n += 1
            yield Counter({EVENTS: n})

    counters = busy()
    settled = wait_until_quiet(lambda: next(counters), quiet_s=0.001, limit_s=0.05)
    assert settled.seconds >= 0.05
    assert settled.writes[EVENTS] > 0
