"""The work queue's contract with workers: FIFO, one worker per key, dedup, deferred re-adds, shutdown."""

from __future__ import annotations

import random
import threading
import time

from support.wait import wait_for

from wfe.runtime.workqueue import FakeClock, Queue

JOIN_TIMEOUT = 5.0


def get_item(queue: Queue[str]) -> str:
    item, shutdown = queue.get()
    assert not shutdown
    assert item is not None
    return item


def start_getter(queue: Queue[str]) -> tuple[threading.Thread, list[tuple[str | None, bool]]]:
    results: list[tuple[str | None, bool]] = []
    thread = threading.Thread(target=lambda: results.append(queue.get()), daemon=True)
    thread.start()
    return thread, results


def test_items_come_out_in_the_order_they_were_added() -> None:
    queue: Queue[str] = Queue()
    for item in ["c", "a", "b"]:
        queue.add(item)

    assert [get_item(queue) for _ in range(3)] == ["c", "a", "b"]


def test_duplicate_adds_of_a_waiting_item_collapse_into_one() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")
    queue.add("b")
    queue.add("a")

    assert len(queue) == 2
    assert [get_item(queue), get_item(queue)] == ["a", "b"]
    assert queue.len() == 0


def test_an_item_added_while_processing_is_held_back_until_done() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")
    assert get_item(queue) == "a"

    queue.add("a")
    queue.add("a")
    assert len(queue) == 0, "a key must not be handed to a second worker while it is processed"

    queue.done("a")
    assert len(queue) == 1
    assert get_item(queue) == "a"
    queue.done("a")
    assert len(queue) == 0


def test_an_item_not_added_again_is_not_requeued_by_done() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")
    get_item(queue)

    queue.done("a")

    assert len(queue) == 0


def test_done_for_an_item_nobody_holds_does_not_duplicate_it() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")

    queue.done("a")

    assert len(queue) == 1


def test_get_blocks_until_an_item_is_added() -> None:
    queue: Queue[str] = Queue()
    getter, results = start_getter(queue)

    queue.add("a")
    getter.join(JOIN_TIMEOUT)

    assert results == [("a", False)]


def test_shutdown_wakes_every_blocked_getter_with_the_shutdown_flag() -> None:
    queue: Queue[str] = Queue()
    getters = [start_getter(queue) for _ in range(3)]

    queue.shutdown()
    for thread, _ in getters:
        thread.join(JOIN_TIMEOUT)

    assert [results for _, results in getters] == [[(None, True)]] * 3
    assert queue.shutting_down()


def test_workers_still_receive_items_queued_before_shutdown() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")
    queue.add("b")

    queue.shutdown()

    assert queue.get() == ("a", False)
    assert queue.get() == ("b", False)
    assert queue.get() == (None, True)


def test_adds_after_shutdown_are_ignored() -> None:
    queue: Queue[str] = Queue()
    queue.shutdown()

    queue.add("a")

    assert len(queue) == 0
    assert queue.get() == (None, True)


def test_shutdown_with_drain_waits_for_items_in_processing() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")
    get_item(queue)
    drained: list[bool] = []
    drainer = threading.Thread(target=lambda: drained.append(queue.shutdown_with_drain()))
    drainer.start()
    wait_for(queue.shutting_down)

    drainer.join(0.1)
    assert drainer.is_alive(), "shutdown_with_drain returned while an item was still processed"

    queue.done("a")
    drainer.join(JOIN_TIMEOUT)
    assert drained == [True]


def test_shutdown_with_drain_returns_at_once_when_nothing_is_processed() -> None:
    queue: Queue[str] = Queue()
    queue.add("waiting-but-not-handed-out")

    assert queue.shutdown_with_drain() is True


def test_shutdown_with_drain_gives_up_after_its_timeout() -> None:
    clock = FakeClock()
    queue: Queue[str] = Queue(clock=clock)
    queue.add("a")
    get_item(queue)
    drained: list[bool] = []
    drainer = threading.Thread(target=lambda: drained.append(queue.shutdown_with_drain(30)))
    drainer.start()
    wait_for(lambda: clock.deadlines() == [clock.now() + 30])

    clock.step(30)
    drainer.join(JOIN_TIMEOUT)

    assert drained == [False]


def test_plain_shutdown_ends_a_drain_wait() -> None:
    queue: Queue[str] = Queue()
    queue.add("a")
    get_item(queue)
    drained: list[bool] = []
    drainer = threading.Thread(target=lambda: drained.append(queue.shutdown_with_drain()))
    drainer.start()
    wait_for(queue.shutting_down)

    queue.shutdown()
    drainer.join(JOIN_TIMEOUT)

    assert drained == [False]


def test_concurrent_workers_never_share_a_key_and_process_every_last_add() -> None:
    workers, keys, adds = 8, 200, 20_000
    queue: Queue[int] = Queue()
    lock = threading.Lock()
    in_flight: set[int] = set()
    overlaps: list[int] = []
    latest_version = dict.fromkeys(range(keys), 0)
    processed_version = dict.fromkeys(range(keys), 0)

    def work() -> None:
        while True:
            key, shutdown = queue.get()
            if shutdown or key is None:
                return
            with lock:
                if key in in_flight:
                    overlaps.append(key)
                in_flight.add(key)
                processed_version[key] = latest_version[key]
            time.sleep(0)  # let other workers and the producer run while the key is held
            with lock:
                in_flight.discard(key)
            queue.done(key)

    def produce() -> None:
        rng = random.Random(7)
        for _ in range(adds):
            key = rng.randrange(keys)
            with lock:
                latest_version[key] += 1
            queue.add(key)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    produce()
    queue.shutdown_with_drain(JOIN_TIMEOUT)
    for thread in threads:
        thread.join(JOIN_TIMEOUT)

    assert not any(thread.is_alive() for thread in threads)
    assert overlaps == []
    assert processed_version == latest_version
