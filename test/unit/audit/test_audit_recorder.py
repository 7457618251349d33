"""The audit recorder end to end against a real local Data Storage peer: batching, outages,
crash recovery, permanent rejections, and a caller that is never held up."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.wait import wait_for

from wfe.audit import (
    AuditEvent,
    AuditRecorder,
    DataStorageSink,
    FileSpool,
    MemorySpool,
)
from wfe.runtime.metrics.registry import REGISTRY

if TYPE_CHECKING:
    from conftest import DataStoragePeer

MakeEvent = Callable[..., AuditEvent]
MakeRecorder = Callable[..., AuditRecorder]
AuditCounter = Callable[[str, str], float]
STARTED = "workflowexecution.execution.started"
# record() writes one small file (fsync included); the network may hang for seconds.
FAST_ENOUGH = 0.5


def wait(condition: Callable[[], object], message: str, timeout: float = 10.0) -> None:
    wait_for(lambda: bool(condition()), timeout=timeout, interval=0.005, message=message)


def timed_record(recorder: AuditRecorder, events: Sequence[AuditEvent]) -> float:
    """Record ``events``; the slowest single ``record`` call, in seconds."""
    slowest = 0.0
    for event in events:
        started = time.monotonic()
        recorder.record(event)
        slowest = max(slowest, time.monotonic() - started)
    return slowest


def backlog() -> float | None:
    return REGISTRY.get_sample_value("workflowexecution_audit_backlog")


def test_spooled_events_go_out_in_batches_with_the_bearer_token(
    datastorage: DataStoragePeer,
    make_event: MakeEvent,
    make_recorder: MakeRecorder,
    audit_counter: AuditCounter,
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("sa-token")
    delivered: list[str] = []
    recorder = make_recorder(
        DataStorageSink(datastorage.url, token_file=token_file),
        MemorySpool(),
        batch_size=10,
        flush_interval=60,  # a backlog drains at once; the interval only lets a batch fill up
        on_delivered=lambda events: delivered.extend(event.event_id for event in events),
    )
    events = [make_event(i) for i in range(25)]
    recorded_before = audit_counter(STARTED, "recorded")
    for event in events:
        recorder.record(event)
    assert backlog() == 25

    recorder.start()
    wait(lambda: len(delivered) == 25, "all 25 events delivered")

    assert [len(batch.events) for batch in datastorage.batches] == [10, 10, 5]
    assert {batch.authorization for batch in datastorage.batches} == {"Bearer sa-token"}
    assert datastorage.received_ids() == [event.event_id for event in events]
    assert all(recorder.is_recorded(event.event_id) for event in events)
    assert not any(recorder.is_pending(event.event_id) for event in events)
    assert audit_counter(STARTED, "recorded") - recorded_before == 25
    assert backlog() == 0


def test_an_outage_loses_nothing_stores_each_event_once_and_never_holds_up_record(
    datastorage: DataStoragePeer,
    make_event: MakeEvent,
    make_recorder: MakeRecorder,
    audit_counter: AuditCounter,
    spool_dir: Path,
) -> None:
    recorder = make_recorder(DataStorageSink(datastorage.url, timeout=2), FileSpool(spool_dir))
    failed_before = audit_counter(STARTED, "failed")
    recorder.start()

    # Data Storage answers 503 ...
    datastorage.status = 503
    first = [make_event(i) for i in range(30)]
    assert timed_record(recorder, first) < FAST_ENOUGH
    wait(lambda: len(datastorage.batches) >= 3, "retries against the 503ing peer")
    assert datastorage.stored_ids() == set()
    assert not recorder.is_recorded(first[0].event_id)
    assert recorder.is_pending(first[0].event_id)

    # ... then is gone altogether ...
    datastorage.stop()
    failed_while_down = audit_counter(STARTED, "failed")
    second = [make_event(i) for i in range(30, 50)]
    assert timed_record(recorder, second) < FAST_ENOUGH
    wait(lambda: audit_counter(STARTED, "failed") > failed_while_down, "attempts while down")

    # ... and comes back, losing the answer to the first batch it stores (the sender resends).
    datastorage.status = 201
    datastorage.lose_responses = 1
    datastorage.start()
    everything = first + second
    wait(lambda: all(recorder.is_recorded(event.event_id) for event in everything), "recovery")

    assert datastorage.stored_ids() == {event.event_id for event in everything}
    resent = [event_id for event_id, n in Counter(datastorage.received_ids()).items() if n > 1]
    assert resent, "the lost answer should have caused a resend"
    assert audit_counter(STARTED, "failed") > failed_before
    assert len(recorder_spool_files(spool_dir)) == 0


def test_record_returns_at_once_while_the_peer_hangs(
    datastorage: DataStoragePeer, make_event: MakeEvent, make_recorder: MakeRecorder
) -> None:
    datastorage.hold.clear()
    recorder = make_recorder(DataStorageSink(datastorage.url, timeout=10), MemorySpool())
    recorder.start()
    recorder.record(make_event(0))
    assert datastorage.parked.wait(timeout=5), "the delivery thread should be stuck in the POST"

    events = [make_event(i) for i in range(1, 100)]

    assert timed_record(recorder, events) < FAST_ENOUGH
    datastorage.hold.set()
    wait(lambda: all(recorder.is_recorded(event.event_id) for event in events), "delivery")


def test_events_spooled_before_a_crash_are_delivered_by_the_next_run(
    datastorage: DataStoragePeer,
    make_event: MakeEvent,
    make_recorder: MakeRecorder,
    spool_dir: Path,
) -> None:
    crashed_spool = FileSpool(spool_dir)
    crashed = make_recorder(DataStorageSink(datastorage.url), crashed_spool)
    events = [make_event(i) for i in range(5)]
    for event in events:
        crashed.record(event)
    crashed_spool.close()  # the process dies: no stop(), no flush; the kernel drops the lock

    survivor = make_recorder(DataStorageSink(datastorage.url), FileSpool(spool_dir))
    survivor.start()

    wait(lambda: all(survivor.is_recorded(e.event_id) for e in events), "redelivery after restart")
    assert datastorage.received_ids() == [event.event_id for event in events]
    assert recorder_spool_files(spool_dir) == []


def test_events_pending_at_shutdown_stay_on_disk_for_the_next_run(
    datastorage: DataStoragePeer,
    make_event: MakeEvent,
    make_recorder: MakeRecorder,
    spool_dir: Path,
) -> None:
    datastorage.status = 503
    first_run = make_recorder(DataStorageSink(datastorage.url), FileSpool(spool_dir))
    first_run.start()
    events = [make_event(i) for i in range(3)]
    for event in events:
        first_run.record(event)
    first_run.stop(timeout=0.5)
    assert len(recorder_spool_files(spool_dir)) == 3

    datastorage.status = 201
    second_run = make_recorder(DataStorageSink(datastorage.url), FileSpool(spool_dir))
    second_run.start()

    wait(lambda: datastorage.stored_ids() == {e.event_id for e in events}, "redelivery")


def test_stop_flushes_what_is_pending(
    datastorage: DataStoragePeer, make_event: MakeEvent, make_recorder: MakeRecorder
) -> None:
    recorder = make_recorder(
        DataStorageSink(datastorage.url), MemorySpool(), flush_interval=60, batch_size=1000
    )
    recorder.start()
    events = [make_event(i) for i in range(7)]
    for event in events:
        recorder.record(event)

    recorder.stop(timeout=5)

    assert datastorage.stored_ids() == {event.event_id for event in events}


def test_recording_the_same_event_twice_delivers_it_once(
    datastorage: DataStoragePeer, make_event: MakeEvent, make_recorder: MakeRecorder
) -> None:
    recorder = make_recorder(DataStorageSink(datastorage.url), MemorySpool())
    event = make_event(1)
    recorder.record(event)
    recorder.record(event)

    recorder.start()
    wait(lambda: recorder.is_recorded(event.event_id), "delivery")

    assert datastorage.received_ids() == [event.event_id]


def test_a_permanently_rejected_event_is_dropped_and_not_retried(
    datastorage: DataStoragePeer,
    make_event: MakeEvent,
    make_recorder: MakeRecorder,
    audit_counter: AuditCounter,
) -> None:
    rejected: list[str] = []
    recorder = make_recorder(
        DataStorageSink(datastorage.url),
        MemorySpool(),
        on_rejected=lambda events: rejected.extend(event.event_id for event in events),
    )
    datastorage.status = 400
    refused = [make_event(i) for i in range(3)]
    rejected_before = audit_counter(STARTED, "rejected")
    for event in refused:
        recorder.record(event)
    recorder.start()
    wait(lambda: len(rejected) == 3, "the rejection")

    # The delivery thread is sequential: once a later event went through, no retry is coming.
    datastorage.status = 201
    later = make_event(99)
    recorder.record(later)
    wait(lambda: recorder.is_recorded(later.event_id), "the next event")

    received = Counter(datastorage.received_ids())
    assert all(received[event.event_id] == 2 for event in refused)  # the batch, then alone
    assert not any(recorder.is_recorded(event.event_id) for event in refused)
    assert not any(recorder.is_pending(event.event_id) for event in refused)
    assert audit_counter(STARTED, "rejected") - rejected_before == 3


def test_a_poison_event_does_not_take_its_batch_down(
    datastorage: DataStoragePeer, make_event: MakeEvent, make_recorder: MakeRecorder
) -> None:
    datastorage.reject = lambda event: event["resource_id"] == "wfe-3"
    recorder = make_recorder(DataStorageSink(datastorage.url), MemorySpool())
    events = [make_event(i) for i in range(6)]
    for event in events:
        recorder.record(event)
    good = [event for event in events if event.resource_id != "wfe-3"]

    recorder.start()
    wait(lambda: all(recorder.is_recorded(event.event_id) for event in good), "good events")

    assert datastorage.stored_ids() == {event.event_id for event in good}
    wait(lambda: not recorder.is_pending(events[3].event_id), "the poison event settled")
    assert not recorder.is_recorded(events[3].event_id)


def test_a_failing_listener_does_not_stop_delivery(
    datastorage: DataStoragePeer, make_event: MakeEvent, make_recorder: MakeRecorder
) -> None:
    def broken_listener(events: Sequence[AuditEvent]) -> None:
        raise RuntimeError("controller bug")

    recorder = make_recorder(
        DataStorageSink(datastorage.url), MemorySpool(), on_delivered=broken_listener
    )
    recorder.start()
    first, second = make_event(1), make_event(2)

    recorder.record(first)
    wait(lambda: recorder.is_recorded(first.event_id), "first event")
    recorder.record(second)

    wait(lambda: recorder.is_recorded(second.event_id), "second event after the listener failed")


@pytest.mark.parametrize("cause", ["id unfit for a file name", "recorder stopped"])
def test_an_event_that_cannot_be_spooled_is_counted_not_raised(
    make_event: MakeEvent,
    make_recorder: MakeRecorder,
    audit_counter: AuditCounter,
    spool_dir: Path,
    datastorage: DataStoragePeer,
    cause: str,
) -> None:
    recorder = make_recorder(DataStorageSink(datastorage.url), FileSpool(spool_dir))
    event = make_event(1)
    if cause == "recorder stopped":
        recorder.start()
        recorder.stop()
    else:
        event = dataclasses.replace(event, event_id="not-a-uuid")
    dropped_before = audit_counter(STARTED, "dropped")

    recorder.record(event)

    assert audit_counter(STARTED, "dropped") - dropped_before == 1
    assert recorder_spool_files(spool_dir) == []


def recorder_spool_files(directory: Path) -> list[str]:
    return [path.name for path in directory.glob("*.json")]


def test_a_failing_delivery_is_reported_once_and_cleared_when_accepted(
    datastorage: DataStoragePeer, make_event: MakeEvent, make_recorder: MakeRecorder
) -> None:
    failed: list[str] = []
    recorder = make_recorder(DataStorageSink(datastorage.url), MemorySpool())
    recorder.set_listener(None, on_failed=lambda events: failed.extend(e.event_id for e in events))
    datastorage.status = 503
    event = make_event(1)
    recorder.record(event)
    recorder.start()
    wait(lambda: recorder.delivery_failed(event.event_id), "the failed attempt")
    assert recorder.is_pending(event.event_id) and not recorder.is_rejected(event.event_id)
    wait(lambda: len(datastorage.received_ids()) >= 3, "a few retries")
    assert failed == [event.event_id]  # once, not at every retry of the outage

    datastorage.status = 201
    wait(lambda: recorder.is_recorded(event.event_id), "delivery once the sink is back")
    assert not recorder.delivery_failed(event.event_id)


def test_a_refused_event_is_marked_rejected(
    datastorage: DataStoragePeer, make_event: MakeEvent, make_recorder: MakeRecorder
) -> None:
    recorder = make_recorder(DataStorageSink(datastorage.url), MemorySpool())
    datastorage.status = 400
    event = make_event(1)
    recorder.record(event)
    recorder.start()
    wait(lambda: recorder.is_rejected(event.event_id), "the rejection")
    assert recorder.delivery_failed(event.event_id)
    assert not recorder.is_pending(event.event_id) and not recorder.is_recorded(event.event_id)
