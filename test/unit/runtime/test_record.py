"""The event recorder's correlation: which repeats aggregate into one Event, and what is dropped."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wfe.runtime.client import ApiError, Client, Resource
from wfe.runtime.record import MAX_QUEUED_EVENTS, EventRecorder, SpamFilter, key_digest

WFE = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"namespace": "team-a", "name": "wfe-1", "uid": "uid-1", "resourceVersion": "7"},
}


def other(uid: str) -> dict[str, Any]:
    obj = copy.deepcopy(WFE)
    obj["metadata"]["uid"] = uid
    return obj


class FakeEventApi:
    """Stores Events by namespace/name; can fail the next writes or hold writers at a gate."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.creates = 0
        self.patches = 0
        self.failures: list[ApiError] = []
        self.gate = threading.Event()
        self.gate.set()

    def create(self, resource: Resource, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        self._enter()
        self.creates += 1
        key = (namespace, body["metadata"]["name"])
        if key in self.events:
            raise ApiError(409, "AlreadyExists", "exists")
        self.events[key] = copy.deepcopy(body)
        return copy.deepcopy(body)

    def patch(
        self, resource: Resource, name: str, patch: dict[str, Any], namespace: str
    ) -> dict[str, Any]:
        self._enter()
        self.patches += 1
        if (namespace, name) not in self.events:
            raise ApiError(404, "NotFound", "gone")
        self.events[namespace, name].update(patch)
        return copy.deepcopy(self.events[namespace, name])

    def _enter(self) -> None:
        assert self.gate.wait(10)
        if self.failures:
            raise self.failures.pop(0)

    def only_event(self) -> dict[str, Any]:
        assert len(self.events) == 1, self.events
        return next(iter(self.events.values()))


class Ticker:
    """A wall clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def api() -> FakeEventApi:
    return FakeEventApi()


@pytest.fixture
def recorder(api: FakeEventApi) -> Iterator[EventRecorder]:
    fake_client: Client = api  # type: ignore[assignment]
    recorder = EventRecorder(fake_client, "wfe-controller", retry_delay=0.01, now=Ticker())
    yield recorder
    recorder.stop(5)


def emit(recorder: EventRecorder, *events: tuple[dict[str, Any], str, str, str]) -> None:
    for obj, event_type, reason, message in events:
        recorder.event(obj, event_type, reason, message)  # type: ignore[arg-type]
    assert recorder.flush(5)


def test_an_event_names_its_object_source_and_reason(
    recorder: EventRecorder, api: FakeEventApi
) -> None:
    emit(recorder, (WFE, "Normal", "PipelineRunCreated", "created pr-1"))
    event = api.only_event()
    assert event["metadata"]["namespace"] == "team-a"
    assert event["metadata"]["name"].startswith("wfe-1.")
    assert event["involvedObject"] == {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "namespace": "team-a",
        "name": "wfe-1",
        "uid": "uid-1",
        "resourceVersion": "7",
    }
    assert (event["type"], event["reason"], event["message"]) == (
        "Normal",
        "PipelineRunCreated",
        "created pr-1",
    )
    assert event["source"] == {"component": "wfe-controller"}
    assert event["count"] == 1
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2025-01-01T00:00:01Z"


def test_the_same_event_again_bumps_the_count_of_one_event(
    recorder: EventRecorder, api: FakeEventApi
) -> None:
    same = (WFE, "Warning", "CleanupFailed", "delete failed")
    emit(recorder, same, same, same)
    event = api.only_event()
    assert event["count"] == 3
    assert (event["firstTimestamp"], event["lastTimestamp"]) == (
        "2025-01-01T00:00:01Z",
        "2025-01-01T00:00:03Z",
    )
    assert (api.creates, api.patches) == (1, 2)


@pytest.mark.parametrize(
    "second",
    [
        pytest.param((WFE, "Warning", "CleanupFailed", "other message"), id="message"),
        pytest.param((WFE, "Warning", "LockReleased", "delete failed"), id="reason"),
        pytest.param((WFE, "Normal", "CleanupFailed", "delete failed"), id="type"),
        pytest.param((other("uid-2"), "Warning", "CleanupFailed", "delete failed"), id="object"),
    ],
)
def test_events_differing_in_any_key_part_are_separate(
    recorder: EventRecorder, api: FakeEventApi, second: tuple[dict[str, Any], str, str, str]
) -> None:
    emit(recorder, (WFE, "Warning", "CleanupFailed", "delete failed"), second)
    assert len(api.events) == 2
    assert api.patches == 0


def test_an_event_deleted_meanwhile_is_created_again_keeping_its_tally(
    recorder: EventRecorder, api: FakeEventApi
) -> None:
    same = (WFE, "Normal", "WorkflowCompleted", "done")
    emit(recorder, same)
    api.events.clear()  # events expire on the server after an hour
    emit(recorder, same)
    assert api.only_event()["count"] == 2


def test_transient_failures_are_retried(recorder: EventRecorder, api: FakeEventApi) -> None:
    api.failures = [ApiError(500, "InternalError", "etcd hiccup")]
    emit(recorder, (WFE, "Normal", "WorkflowCompleted", "done"))
    assert api.only_event()["count"] == 1


def test_rejected_events_are_dropped_without_raising(
    recorder: EventRecorder, api: FakeEventApi
) -> None:
    api.failures = [ApiError(403, "Forbidden", "events is forbidden")]
    emit(recorder, (WFE, "Normal", "WorkflowCompleted", "done"))
    assert api.events == {}
    emit(recorder, (WFE, "Normal", "WorkflowCompleted", "done"))  # the recorder still works
    assert api.only_event()["count"] == 1


def test_unsupported_types_and_objects_without_names_are_ignored(
    recorder: EventRecorder, api: FakeEventApi
) -> None:
    emit(
        recorder,
        (WFE, "Critical", "WorkflowFailed", "boom"),
        ({"kind": "WorkflowExecution", "metadata": {}}, "Normal", "WorkflowFailed", "boom"),
    )
    assert api.creates == 0


def test_a_full_queue_drops_events_instead_of_blocking_the_caller(api: FakeEventApi) -> None:
    fake_client: Client = api  # type: ignore[assignment]
    recorder = EventRecorder(fake_client, queue_size=1)
    api.gate.clear()  # the sender blocks inside its first write
    for index in range(5):
        recorder.event(WFE, "Normal", "WorkflowCompleted", f"event {index}")
    api.gate.set()
    assert recorder.flush(5)
    recorder.stop(5)
    assert 1 <= api.creates <= 2  # the one in flight, maybe one queued; the rest were dropped


def test_the_queue_holds_what_client_go_holds_before_it_drops(api: FakeEventApi) -> None:
    fake_client: Client = api  # type: ignore[assignment]
    recorder = EventRecorder(fake_client)
    api.gate.clear()  # the sender blocks inside its first write; the rest wait in the queue
    for index in range(MAX_QUEUED_EVENTS + 10):
        recorder.event(other(f"uid-{index}"), "Normal", "WorkflowCompleted", "done")
    api.gate.set()
    assert recorder.flush(10)
    recorder.stop(5)
    # the one in flight, and the queue full: the last ~9 were dropped
    assert MAX_QUEUED_EVENTS <= api.creates <= MAX_QUEUED_EVENTS + 1
    assert MAX_QUEUED_EVENTS == 2000  # client-go: 1,000 in the broadcaster + 1,000 for the sink


def test_spam_filter_allows_a_burst_then_one_per_refill_period() -> None:
    now = [0.0]
    spam = SpamFilter(burst=2, refill_seconds=300, clock=lambda: now[0])
    key = ("wfe-controller", "", "WorkflowExecution", "team-a", "wfe-1")
    assert [spam.allow(key) for _ in range(3)] == [True, True, False]
    assert spam.allow(("another", "object"))
    now[0] += 300
    assert [spam.allow(key) for _ in range(2)] == [True, False]


def test_spam_filter_forgets_buckets_that_have_refilled_as_a_new_one_would_behave() -> None:
    now = [0.0]
    spam = SpamFilter(burst=2, refill_seconds=300, clock=lambda: now[0])
    busy, quiet = ("wfe", "", "WorkflowExecution", "a", "busy"), ("wfe", "", "Pod", "a", "quiet")
    assert [spam.allow(busy) for _ in range(3)] == [True, True, False]
    assert spam.allow(quiet)
    now[0] += 600  # both refilled to the burst: they allow what a new bucket allows
    assert spam.allow(("wfe", "", "Pod", "a", "third"))
    assert len(spam) == 1  # only the object that just sent an event is kept
    assert [spam.allow(busy) for _ in range(3)] == [True, True, False]


def test_spam_filter_keeps_a_bucket_until_it_has_refilled() -> None:
    now = [0.0]
    spam = SpamFilter(burst=2, refill_seconds=300, clock=lambda: now[0])
    busy = ("wfe", "", "WorkflowExecution", "a", "busy")
    assert [spam.allow(busy) for _ in range(2)] == [True, True]
    now[0] += 300  # one token back, not two
    assert spam.allow(("wfe", "", "Pod", "a", "other"))
    assert len(spam) == 2
    assert [spam.allow(busy) for _ in range(2)] == [True, False]


def test_cache_keys_differ_when_their_parts_are_split_differently() -> None:
    assert key_digest(("ab", "c")) != key_digest(("a", "bc"))
    assert key_digest(("a", "")) != key_digest(("a",))
    assert key_digest(("a", "b")) == key_digest(("a", "b"))
