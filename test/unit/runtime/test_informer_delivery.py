"""How an informer delivers: one thread per handler, resyncs only to handlers that are due.

The informer runs on a scripted list/watch client (no API server needed to show delivery order).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from support.wait import wait_for

from wfe.runtime.cache import (
    ExponentialBackoff,
    ReflectorOptions,
    ResourceEventHandlerFuncs,
    SharedIndexInformer,
)
from wfe.runtime.cache.processor import DEFAULT_RESYNC_SECONDS, jittered_resync_period
from wfe.runtime.client import ApiError, Resource, WatchEvent

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
FAST = ReflectorOptions(backoff=lambda: ExponentialBackoff(0.01, 0.02), use_watch_list=False)


def cm(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}


def page(items: list[dict[str, Any]], rv: str) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": rv}, "items": items}


class Stream:
    def __init__(self, script: list[WatchEvent | Exception] | None):
        self._script = script
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[WatchEvent]:
        if self._script is None:  # idle until closed
            self._closed.wait(10)
            return
        for item in self._script:
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self) -> None:
        self._closed.set()


class ScriptedClient:
    def __init__(self, lists: list[dict[str, Any]], watches: list[list[Any]]):
        self.lists = deque(lists)
        self.watches = deque(watches)
        self.list_calls = 0

    def list(self, resource: Resource, namespace: str | None = None, **_: Any) -> Any:
        self.list_calls += 1
        return self.lists.popleft() if self.lists else page([], "999")

    def watch(self, resource: Resource, namespace: str | None = None, **_: Any) -> Stream:
        return Stream(self.watches.popleft() if self.watches else None)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def on_add(self, obj: dict[str, Any]) -> None:
        self._note("add", obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._note("update", new)

    def on_delete(self, obj: dict[str, Any]) -> None:
        self._note("delete", obj)

    def _note(self, kind: str, obj: dict[str, Any]) -> None:
        with self._lock:
            self.seen.append((kind, obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))

    def of(self, kind: str) -> list[str]:
        with self._lock:
            return [name for k, name, _ in self.seen if k == kind]


class Blocked(Recorder):
    """A handler stuck in its first call until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def on_add(self, obj: dict[str, Any]) -> None:
        self.entered.set()
        self.release.wait(10)
        super().on_add(obj)


@pytest.fixture
def informers() -> Iterator[list[SharedIndexInformer]]:
    started: list[SharedIndexInformer] = []
    yield started
    for informer in started:
        assert informer.stop(timeout=5)


def start(
    informers: list[SharedIndexInformer], client: ScriptedClient, **kwargs: Any
) -> SharedIndexInformer:
    informer = SharedIndexInformer(
        client,  # type: ignore[arg-type]
        CONFIGMAPS,
        namespace="ns",
        reflector_options=FAST,
        **kwargs,
    )
    informers.append(informer)
    return informer


def test_a_relist_delivers_unchanged_objects_only_to_handlers_whose_resync_is_due(
    informers: list[SharedIndexInformer],
) -> None:
    gone = ApiError(410, "Expired", "too old resource version")
    client = ScriptedClient(
        lists=[
            page([cm("same", "1"), cm("changed", "2")], "5"),
            page([cm("same", "1"), cm("changed", "3")], "6"),
        ],
        watches=[[gone]],
    )
    informer = start(informers, client)
    not_due = Recorder()
    due = Recorder()
    informer.add_event_handler(not_due)
    informer.add_event_handler(due, resync_period=0.000001)  # always due

    informer.start()

    wait_for(lambda: client.list_calls >= 2 and not_due.of("update"), message="the relist")
    wait_for(lambda: "same" in due.of("update"), message="the resync of the due handler")
    assert not_due.seen == [
        ("add", "same", "1"),
        ("add", "changed", "2"),
        ("update", "changed", "3"),
    ]


def test_a_slow_handler_stalls_neither_the_other_handlers_nor_has_synced(
    informers: list[SharedIndexInformer],
) -> None:
    client = ScriptedClient(
        lists=[page([cm("a", "1"), cm("b", "2")], "5")],
        watches=[[WatchEvent("ADDED", cm("c", "6"))]],
    )
    informer = start(informers, client)
    slow = Blocked()
    fast = Recorder()
    informer.add_event_handler(slow)
    informer.add_event_handler(fast)

    informer.start()

    assert informer.wait_for_sync(5), "a stuck handler delayed has_synced"
    wait_for(lambda: fast.of("add") == ["a", "b", "c"], message="every add at the fast handler")
    # its own thread may be scheduled only now: wait for it to be stuck in its first add
    assert slow.entered.wait(5), "the slow handler never got its first add"
    assert slow.of("add") == []
    slow.release.set()
    wait_for(lambda: slow.of("add") == ["a", "b", "c"], message="the slow handler catching up")


def test_a_periodic_resync_reaches_only_the_handlers_that_asked_for_it(
    informers: list[SharedIndexInformer],
) -> None:
    client = ScriptedClient(lists=[page([cm("a", "1")], "5")], watches=[])
    informer = start(informers, client)
    quiet = Recorder()
    resyncing = Recorder()
    informer.add_event_handler(quiet)
    informer.add_event_handler(resyncing, resync_period=0.05)

    informer.start()

    wait_for(lambda: len(resyncing.of("update")) >= 2, message="two resyncs")
    assert quiet.of("update") == []


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
def test_the_default_resync_is_ten_hours_jittered_by_ten_percent(draw: float) -> None:
    period = jittered_resync_period(rand=lambda: draw)
    assert DEFAULT_RESYNC_SECONDS == 36000
    assert 0.9 * 36000 <= period < 1.1 * 36000


def test_handlers_share_the_decoded_object_and_nobody_can_corrupt_the_cache(
    informers: list[SharedIndexInformer],
) -> None:
    """client-go's contract: an informer hands the object it decoded to its handlers without a
    copy (read-only). The store keeps its own JSON of it, so neither a handler that breaks the
    contract nor a reader editing what it got can change what the cache holds."""
    updated = cm("a", "2")
    client = ScriptedClient([page([cm("a", "1")], "1")], [[WatchEvent("MODIFIED", updated)]])
    handed: list[dict[str, Any]] = []
    informer = start(informers, client)
    informer.add_event_handler(
        ResourceEventHandlerFuncs(update_func=lambda _old, new: handed.append(new))
    )
    informer.start()
    wait_for(lambda: len(handed) == 1)

    assert handed[0] == cm("a", "2")
    handed[0]["data"] = {"broken": "contract"}
    read = informer.indexer.get("ns/a")
    assert read == cm("a", "2") and read is not handed[0]
    assert read is not None
    read["metadata"]["name"] = "edited"
    assert informer.indexer.get("ns/a") == cm("a", "2")
