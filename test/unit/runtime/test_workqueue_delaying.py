"""The delaying queue: items wait until their ready time; the earliest ready time wins."""

from __future__ import annotations

import math
import threading

from support.wait import wait_for

from wfe.runtime.workqueue import DelayingQueue, FakeClock, NoopMetricsProvider

START = 1000.0


def new_queue() -> tuple[DelayingQueue[str], FakeClock]:
    clock = FakeClock(START)
    return DelayingQueue(clock=clock), clock


def wait_for_sleep_until(clock: FakeClock, deadline: float) -> None:
    """Wait until the waiting loop sleeps again, due to wake at `deadline`."""
    wait_for(lambda: clock.deadlines() == [deadline])


def test_add_after_a_non_positive_delay_adds_at_once() -> None:
    queue, _ = new_queue()

    queue.add_after("now", 0)
    queue.add_after("past", -5)

    assert queue.get() == ("now", False)
    assert queue.get() == ("past", False)


def test_an_item_becomes_available_only_when_its_delay_has_passed() -> None:
    queue, clock = new_queue()

    queue.add_after("a", 10)
    wait_for_sleep_until(clock, START + 10)
    clock.step(9)
    wait_for_sleep_until(clock, START + 10)
    assert len(queue) == 0

    clock.step(1)
    wait_for(lambda: len(queue) == 1)
    assert queue.get() == ("a", False)


def test_an_earlier_ready_time_replaces_a_later_one() -> None:
    queue, clock = new_queue()
    queue.add_after("a", 10)
    queue.add_after("a", 5)
    wait_for_sleep_until(clock, START + 5)

    clock.step(5)
    wait_for(lambda: len(queue) == 1)
    assert queue.get() == ("a", False)
    queue.done("a")

    clock.step(5)
    wait_for_sleep_until(clock, math.inf)
    assert len(queue) == 0, "the superseded later ready time must not add the item again"


def test_a_later_ready_time_does_not_postpone_an_earlier_one() -> None:
    queue, clock = new_queue()
    queue.add_after("a", 5)
    queue.add_after("a", 10)
    wait_for_sleep_until(clock, START + 5)

    clock.step(5)

    wait_for(lambda: len(queue) == 1)


def test_items_ready_together_are_added_in_ready_time_order() -> None:
    queue, clock = new_queue()
    queue.add_after("second", 2)
    queue.add_after("first", 1)
    wait_for_sleep_until(clock, START + 1)

    clock.step(2)
    wait_for(lambda: len(queue) == 2)

    assert [queue.get()[0], queue.get()[0]] == ["first", "second"]


def test_shutdown_drops_waiting_items_and_stops_the_waiting_loop() -> None:
    clock = FakeClock(START)
    queue: DelayingQueue[str] = DelayingQueue(
        "delaying-shutdown-test", clock=clock, metrics_provider=NoopMetricsProvider()
    )
    queue.add_after("a", 1)

    queue.shutdown()
    queue.add_after("b", 1)
    clock.step(1)

    assert queue.get() == (None, True)
    assert "workqueue-delay-delaying-shutdown-test" not in {
        thread.name for thread in threading.enumerate()
    }


def test_a_discarded_item_is_not_added_at_its_ready_time() -> None:
    queue, clock = new_queue()
    queue.add_after("gone", 10)
    queue.add_after("kept", 10)

    queue.discard_waiting("gone")
    queue.discard_waiting("never-waited")  # nothing to cancel: no error
    assert queue.waiting() == 1

    clock.step(10)
    wait_for(lambda: len(queue) == 1)
    assert queue.get() == ("kept", False)
    queue.done("kept")
    wait_for_sleep_until(clock, math.inf)
    assert len(queue) == 0


def test_discarding_leaves_an_item_already_added_in_the_queue() -> None:
    queue, _ = new_queue()
    queue.add("now")

    queue.discard_waiting("now")

    assert queue.get() == ("now", False)


def test_many_discarded_items_leave_the_rest_in_ready_time_order() -> None:
    """Cancelled entries are dropped from the heap in bulk; what remains keeps its order."""
    queue, clock = new_queue()
    for i in range(500):
        queue.add_after(f"item-{i:03d}", 1000 - i)
    for i in range(500):
        if i % 10:
            queue.discard_waiting(f"item-{i:03d}")
    assert queue.waiting() == 50

    clock.step(1000)
    wait_for(lambda: len(queue) == 50)
    expected = [f"item-{i:03d}" for i in reversed(range(0, 500, 10))]
    assert [queue.get()[0] for _ in range(50)] == expected
