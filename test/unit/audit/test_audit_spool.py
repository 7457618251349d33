"""The audit spool: durable before acknowledged, idempotent per event_id, bounded, crash-safe."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wfe.audit import AuditEvent, FileSpool, MemorySpool, Spool

MakeEvent = Callable[..., AuditEvent]


def spooled_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if not name.startswith("."))


def spool_then_exit(directory: Path, events: list[AuditEvent]) -> None:
    """A previous process: spools ``events`` and exits (closing releases the directory lock)."""
    previous = FileSpool(directory)
    for event in events:
        previous.put(event)
    previous.close()


@pytest.fixture(params=["memory", "file"])
def make_spool(request: pytest.FixtureRequest, spool_dir: Path) -> Iterator[Callable[..., Spool]]:
    opened: list[Spool] = []

    def make(max_events: int = 100) -> Spool:
        spool: Spool = (
            MemorySpool(max_events)
            if request.param == "memory"
            else FileSpool(spool_dir, max_events)
        )
        opened.append(spool)
        return spool

    yield make
    for spool in opened:
        spool.close()


def test_putting_the_same_event_twice_keeps_one_copy(
    make_spool: Callable[..., Spool], make_event: MakeEvent
) -> None:
    spool = make_spool()
    event = make_event(1)

    assert spool.put(event) is True
    assert spool.put(dataclasses.replace(event, event_data={"other": "content"})) is False

    assert spool.take(10) == [event]


def test_take_returns_oldest_first_and_keeps_events_until_removed(
    make_spool: Callable[..., Spool], make_event: MakeEvent
) -> None:
    spool = make_spool()
    events = [make_event(i) for i in range(5)]
    for event in events:
        spool.put(event)

    assert spool.take(3) == events[:3]
    assert spool.take(3) == events[:3]

    spool.remove([events[0].event_id, events[1].event_id, "not-spooled"])

    assert spool.take(10) == events[2:]
    assert len(spool) == 3
    assert events[0].event_id not in spool
    assert events[2].event_id in spool


def test_a_full_spool_drops_the_oldest_events_and_counts_them(
    make_spool: Callable[..., Spool],
    make_event: MakeEvent,
    audit_counter: Callable[[str, str], float],
) -> None:
    spool = make_spool(max_events=3)
    events = [make_event(i) for i in range(5)]
    event_type = str(events[0].event_type)
    dropped_before = audit_counter(event_type, "dropped")

    for event in events:
        assert spool.put(event) is True

    assert spool.take(10) == events[2:]
    assert audit_counter(event_type, "dropped") - dropped_before == 2


def test_an_event_is_on_disk_when_put_returns(spool_dir: Path, make_event: MakeEvent) -> None:
    spool = FileSpool(spool_dir)
    event = make_event(7)

    spool.put(event)

    assert spooled_files(spool_dir) == [f"{event.event_id}.json"]
    assert not [name for name in os.listdir(spool_dir) if name.endswith(".tmp")]
    assert (spool_dir / f"{event.event_id}.json").stat().st_mode & 0o777 == 0o600
    spool.close()


def test_removed_events_leave_the_disk(spool_dir: Path, make_event: MakeEvent) -> None:
    spool = FileSpool(spool_dir)
    event = make_event(1)
    spool.put(event)

    spool.remove([event.event_id])

    assert spooled_files(spool_dir) == []
    spool.close()


def test_reopening_the_directory_recovers_pending_events_in_order(
    spool_dir: Path, make_event: MakeEvent
) -> None:
    events = [make_event(i) for i in range(4)]
    spool_then_exit(spool_dir, events)
    os.unlink(spool_dir / f"{events[1].event_id}.json")  # delivered before the exit

    reopened = FileSpool(spool_dir)

    assert reopened.take(10) == [events[0], events[2], events[3]]
    reopened.close()


def test_recovery_ignores_half_written_and_unreadable_files(
    spool_dir: Path, make_event: MakeEvent
) -> None:
    good = make_event(1)
    spool_then_exit(spool_dir, [good])
    half_written = spool_dir / f".{make_event(2).event_id}.0123abcd.tmp"
    half_written.write_text('{"event_id": "trunc')
    corrupt_id = make_event(3).event_id
    (spool_dir / f"{corrupt_id}.json").write_text("not json")

    reopened = FileSpool(spool_dir)

    assert reopened.take(10) == [good]
    assert not half_written.exists()
    assert (spool_dir / f"{corrupt_id}.json.corrupt").exists()
    assert len(reopened) == 1
    reopened.close()


def test_reopening_with_a_smaller_bound_drops_the_oldest(
    spool_dir: Path, make_event: MakeEvent
) -> None:
    events = [make_event(i) for i in range(4)]
    spool_then_exit(spool_dir, events)

    reopened = FileSpool(spool_dir, max_events=2)

    assert reopened.take(10) == events[2:]
    assert len(spooled_files(spool_dir)) == 2
    reopened.close()


def test_one_directory_serves_one_process_at_a_time(spool_dir: Path) -> None:
    owner = FileSpool(spool_dir)

    with pytest.raises(RuntimeError, match="in use by another process"):
        FileSpool(spool_dir)

    owner.close()
    FileSpool(spool_dir).close()


def test_event_ids_cannot_escape_the_directory(spool_dir: Path, make_event: MakeEvent) -> None:
    spool = FileSpool(spool_dir)
    hostile = dataclasses.replace(make_event(1), event_id="../../etc/cron.d/evil")

    with pytest.raises(ValueError, match="UUID"):
        spool.put(hostile)

    assert len(spool) == 0
    spool.close()
