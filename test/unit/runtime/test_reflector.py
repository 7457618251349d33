"""The reflector's list/watch protocol against a scripted client: paging, resuming, relisting, stopping."""

from __future__ import annotations

import threading
import tracemalloc
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from support.wait import wait_for

from wfe.runtime.cache import Indexer, Listing, Reflector, ReflectorOptions
from wfe.runtime.client import ApiConnectionError, ApiError, Resource, WatchEvent

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
GONE = ApiError(410, "Expired", "too old resource version")


def cm(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}


def page(items: list[dict[str, Any]], rv: str, cont: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return {"kind": "ConfigMapList", "metadata": meta, "items": items}


def event(kind: str, obj: dict[str, Any]) -> WatchEvent:
    return WatchEvent(kind, obj)


class ScriptedStream:
    """Yields its script (raising the exceptions in it), then ends like a server-closed watch."""

    def __init__(self, script: list[WatchEvent | Exception]):
        self._script = script
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[WatchEvent]:
        for item in self._script:
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self) -> None:
        self.closed.set()


class IdleStream(ScriptedStream):
    """A healthy watch with nothing to say: blocks until closed, as a real one does."""

    def __init__(self) -> None:
        super().__init__([])

    def __iter__(self) -> Iterator[WatchEvent]:
        self.closed.wait(10)
        return iter(())


class ScriptedClient:
    """Answers list() and watch() from queues; once they run dry lists repeat, watches idle."""

    def __init__(self, lists: list[dict[str, Any] | Exception], watches: list[Any]):
        self.lists: deque[dict[str, Any] | Exception] = deque(lists)
        self.watches: deque[Any] = deque(watches)
        self.list_calls: list[dict[str, Any]] = []
        self.watch_calls: list[dict[str, Any]] = []
        self.streams: list[ScriptedStream] = []
        self._last_list: dict[str, Any] | Exception = page([], "1")

    def list(self, resource: Resource, namespace: str | None = None, **kwargs: Any) -> Any:
        self.list_calls.append({"namespace": namespace, **kwargs})
        answer = self.lists.popleft() if self.lists else self._last_list
        self._last_list = answer
        if isinstance(answer, Exception):
            raise answer
        return answer

    def watch(self, resource: Resource, namespace: str | None = None, **kwargs: Any) -> Any:
        self.watch_calls.append({"namespace": namespace, **kwargs})
        script = self.watches.popleft() if self.watches else None
        if isinstance(script, Exception):
            raise script
        stream = IdleStream() if script is None else ScriptedStream(script)
        self.streams.append(stream)
        return stream


class RecordingStore(Indexer):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def add(self, obj: dict[str, Any]) -> Any:
        self.calls.append(("add", obj["metadata"]["name"]))
        return super().add(obj)

    def update(self, obj: dict[str, Any]) -> Any:
        self.calls.append(("update", obj["metadata"]["name"]))
        return super().update(obj)

    def delete(self, obj: dict[str, Any]) -> Any:
        self.calls.append(("delete", obj["metadata"]["name"]))
        return super().delete(obj)

    def replace_listing(self, listing: Listing, resource_version: str) -> Any:
        names = [key.split("/")[-1] for key in listing.items]
        self.calls.append(("replace", ",".join(names)))
        return super().replace_listing(listing, resource_version)


class CountingBackoff:
    def __init__(self) -> None:
        self.calls = 0

    def next_delay(self) -> float:
        self.calls += 1
        return 0.0


class Running:
    """A reflector on its own thread, stopped (and checked to have stopped) at the end."""

    def __init__(self, client: ScriptedClient, *, watch_list: bool = False, **kwargs: Any):
        self.store = RecordingStore()
        self.backoff = CountingBackoff()
        options = ReflectorOptions(
            page_size=2,
            min_watch_timeout=300,
            backoff=lambda: self.backoff,
            use_watch_list=watch_list,
        )
        self.reflector = Reflector(
            client,  # type: ignore[arg-type]
            CONFIGMAPS,
            self.store,
            namespace="ns",
            options=options,
            **kwargs,
        )
        self.thread = threading.Thread(target=self.reflector.run, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.reflector.stop()
        self.thread.join(5)
        assert not self.thread.is_alive()


def test_it_lists_page_by_page_then_watches_from_the_lists_version() -> None:
    client = ScriptedClient(
        lists=[page([cm("a", "3"), cm("b", "4")], "10", cont="t1"), page([cm("c", "5")], "10")],
        watches=[],
    )
    with Running(client, label_selector="app=x", field_selector="metadata.name!=z") as running:
        wait_for(lambda: client.watch_calls, message="a watch")

    assert [c["continue_token"] for c in client.list_calls] == [None, "t1"]
    assert all(c["limit"] == 2 for c in client.list_calls)
    assert all(c["label_selector"] == "app=x" for c in client.list_calls)
    assert running.store.calls == [("replace", "a,b,c")]
    watch = client.watch_calls[0]
    assert watch["resource_version"] == "10"
    assert watch["allow_bookmarks"] is True
    assert 300 <= watch["timeout_seconds"] <= 600
    assert watch["label_selector"] == "app=x"
    assert watch["field_selector"] == "metadata.name!=z"
    assert watch["namespace"] == "ns"


def test_listed_items_get_the_api_version_and_kind_the_list_left_out() -> None:
    client = ScriptedClient(lists=[page([cm("a", "3")], "10")], watches=[])
    with Running(client) as running:
        wait_for(lambda: client.watch_calls, message="a watch")

    stored = running.store.get("ns/a")
    assert stored is not None
    assert (stored["apiVersion"], stored["kind"]) == ("v1", "ConfigMap")


def test_a_list_whose_continue_token_expired_falls_back_to_one_full_list() -> None:
    client = ScriptedClient(
        lists=[
            page([cm("a", "3"), cm("b", "4")], "10", cont="t1"),
            GONE,
            page([cm("a", "3"), cm("b", "4"), cm("d", "11")], "12"),
        ],
        watches=[],
    )
    with Running(client) as running:
        wait_for(lambda: client.watch_calls, message="a watch")

    assert [c["continue_token"] for c in client.list_calls] == [None, "t1", None]
    assert [c["limit"] for c in client.list_calls] == [2, 2, None]
    assert [c["resource_version"] for c in client.list_calls] == ["0", None, "0"]
    assert running.store.calls == [("replace", "a,b,d")]
    assert client.watch_calls[0]["resource_version"] == "12"


def test_the_first_list_reads_the_watch_cache_and_a_relist_never_goes_back_in_time() -> None:
    client = ScriptedClient(
        lists=[page([cm("a", "3")], "10"), page([cm("a", "3")], "40")],
        watches=[[event("MODIFIED", cm("a", "11")), GONE]],
    )
    with Running(client):
        wait_for(lambda: len(client.watch_calls) >= 2, message="a watch after the relist")

    # the relist asks for what the store last saw, unpaged so the watch cache can serve it
    assert [c["resource_version"] for c in client.list_calls] == ["0", "11"]
    assert [c["limit"] for c in client.list_calls] == [2, None]


def test_a_relist_whose_version_expired_reads_the_current_state_at_once() -> None:
    client = ScriptedClient(
        lists=[page([cm("a", "3")], "10"), GONE, page([cm("b", "55")], "60")],
        watches=[[GONE]],
    )
    with Running(client) as running:
        wait_for(lambda: len(client.watch_calls) >= 2, message="a watch after the relist")

    assert [c["resource_version"] for c in client.list_calls] == ["0", "10", None]
    assert running.store.list_keys() == ["ns/b"]
    assert client.watch_calls[1]["resource_version"] == "60"


def test_watch_events_reach_the_store_and_advance_the_resource_version() -> None:
    client = ScriptedClient(
        lists=[page([cm("a", "3")], "10")],
        watches=[
            [
                event("ADDED", cm("b", "11")),
                event("MODIFIED", cm("a", "12")),
                event("DELETED", cm("b", "13")),
                event("BOOKMARK", {"metadata": {"resourceVersion": "20"}}),
            ]
        ],
    )
    with Running(client) as running:
        wait_for(lambda: len(client.watch_calls) >= 2, message="a second watch")

    assert running.store.calls == [
        ("replace", "a"),
        ("add", "b"),
        ("update", "a"),
        ("delete", "b"),
    ]
    # the server ended the first watch: the next resumes from the bookmark, without a relist
    assert client.watch_calls[1]["resource_version"] == "20"
    assert len(client.list_calls) == 1
    assert running.reflector.last_sync_resource_version == "20"


def test_a_broken_connection_resumes_the_watch_from_the_last_version_seen() -> None:
    client = ScriptedClient(
        lists=[page([], "10")],
        watches=[[event("ADDED", cm("a", "11")), ApiConnectionError("connection reset")]],
    )
    with Running(client):
        wait_for(lambda: len(client.watch_calls) >= 2, message="a second watch")

    assert client.watch_calls[1]["resource_version"] == "11"
    assert len(client.list_calls) == 1


def test_an_expired_watch_relists_and_never_reuses_the_expired_version() -> None:
    client = ScriptedClient(
        lists=[page([cm("a", "3"), cm("b", "4")], "10"), page([cm("a", "30")], "40")],
        watches=[[event("MODIFIED", cm("a", "11")), GONE]],
    )
    with Running(client) as running:
        wait_for(lambda: len(client.watch_calls) >= 2, message="a watch after the relist")

    assert len(client.list_calls) == 2
    assert [c["resource_version"] for c in client.watch_calls] == ["10", "40"]
    assert running.store.calls[-1] == ("replace", "a")
    assert running.store.list_keys() == ["ns/a"]
    assert running.backoff.calls >= 1  # client-go backs off before relisting


def test_a_watch_that_cannot_open_because_the_version_is_gone_relists() -> None:
    client = ScriptedClient(lists=[page([], "10"), page([], "50")], watches=[GONE])
    with Running(client):
        wait_for(lambda: len(client.watch_calls) >= 2, message="a watch after the relist")

    assert [c["resource_version"] for c in client.watch_calls] == ["10", "50"]


@pytest.mark.parametrize(
    "failure",
    [ApiConnectionError("connection refused"), ApiError(429, "TooManyRequests", "slow down")],
    ids=["connection refused", "throttled"],
)
def test_a_watch_that_cannot_open_for_a_passing_reason_is_retried_after_backoff(
    failure: ApiError,
) -> None:
    client = ScriptedClient(lists=[page([], "10")], watches=[failure, failure])
    with Running(client) as running:
        wait_for(lambda: len(client.watch_calls) >= 3, message="a third watch")

    assert [c["resource_version"] for c in client.watch_calls[:3]] == ["10", "10", "10"]
    assert len(client.list_calls) == 1
    assert running.backoff.calls == 2


def test_an_error_event_from_a_struggling_server_resumes_after_backoff_without_relisting() -> None:
    client = ScriptedClient(
        lists=[page([], "10")],
        watches=[[event("ADDED", cm("a", "11")), ApiError(500, "InternalError", "etcd hiccup")]],
    )
    with Running(client) as running:
        wait_for(lambda: len(client.watch_calls) >= 2, message="a second watch")

    assert client.watch_calls[1]["resource_version"] == "11"
    assert len(client.list_calls) == 1
    assert running.backoff.calls == 1


def test_a_watch_refused_for_good_starts_over_with_a_list_after_backoff() -> None:
    client = ScriptedClient(lists=[page([], "10")], watches=[ApiError(403, "Forbidden", "no")])
    with Running(client) as running:
        wait_for(lambda: len(client.list_calls) >= 2, message="a second list")

    assert running.backoff.calls >= 1


def test_a_failing_list_is_retried_after_backoff() -> None:
    client = ScriptedClient(
        lists=[ApiConnectionError("refused"), page([cm("a", "1")], "5")], watches=[]
    )
    with Running(client) as running:
        wait_for(lambda: client.watch_calls, message="a watch")

    assert running.backoff.calls == 1
    assert running.store.list_keys() == ["ns/a"]


def test_a_watch_that_closes_at_once_without_events_backs_off_before_the_next() -> None:
    client = ScriptedClient(lists=[page([], "10")], watches=[[], []])
    with Running(client) as running:
        wait_for(lambda: len(client.watch_calls) >= 3, message="a third watch")

    assert running.backoff.calls == 2


def test_stop_closes_the_open_watch_and_ends_run_promptly() -> None:
    client = ScriptedClient(lists=[page([], "10")], watches=[])
    running = Running(client)
    with running:
        wait_for(lambda: client.streams, message="an open watch")

    assert client.streams[0].closed.is_set()


class PagingClient(ScriptedClient):
    """Serves ``pages`` pages of ``per_page`` sizeable ConfigMaps, each page decoded afresh as the
    real client's answers are; watches idle."""

    def __init__(self, pages: int, per_page: int):
        super().__init__(lists=[], watches=[])
        self.pages, self.per_page = pages, per_page

    def list(self, resource: Resource, namespace: str | None = None, **kwargs: Any) -> Any:
        self.list_calls.append({"namespace": namespace, **kwargs})
        number = int(kwargs.get("continue_token") or 0)
        more = str(number + 1) if number + 1 < self.pages else None
        return page([big_cm(number * self.per_page + i) for i in range(self.per_page)], "7", more)


def big_cm(i: int) -> dict[str, Any]:
    return {**cm(f"cm-{i:05d}", str(i)), "data": {f"key-{k}": f"value {i} {k}" for k in range(40)}}


def test_a_large_list_is_never_held_as_decoded_objects_all_at_once() -> None:
    # The cold-start memory of a controller with 10,000 objects: the list's pages go into the
    # store as they arrive, so what is decoded at any moment is a page, not the whole list.
    pages, per_page = 20, 100
    tracemalloc.start()
    try:
        all_decoded = [big_cm(i) for i in range(pages * per_page)]
        decoded_size, _ = tracemalloc.get_traced_memory()
        del all_decoded
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        client = PagingClient(pages, per_page)
        with Running(client) as running:
            wait_for(lambda: client.watch_calls, message="a watch after the list")
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(running.store) == pages * per_page
    assert peak - baseline < decoded_size / 2, (
        f"listing {pages * per_page} objects peaked at {(peak - baseline) >> 10} KiB; "
        f"decoded all at once they take {decoded_size >> 10} KiB"
    )


# --- streaming list (watch-list) ---------------------------------------------------------------


def initial_events_end(rv: str) -> WatchEvent:
    annotations = {"k8s.io/initial-events-end": "true"}
    return event("BOOKMARK", {"metadata": {"resourceVersion": rv, "annotations": annotations}})


def test_the_initial_state_streams_in_and_the_same_watch_goes_on() -> None:
    client = ScriptedClient(
        lists=[],
        watches=[
            [
                event("ADDED", cm("a", "3")),
                event("ADDED", cm("b", "4")),
                event("BOOKMARK", cm("", "6")),  # an ordinary bookmark changes nothing
                initial_events_end("10"),
                event("MODIFIED", cm("a", "11")),
            ]
        ],
    )
    with Running(client, watch_list=True) as running:
        wait_for(lambda: ("update", "a") in running.store.calls, message="the change after sync")

    assert client.list_calls == []  # no LIST request at all
    assert running.store.calls[:2] == [("replace", "a,b"), ("update", "a")]
    first = client.watch_calls[0]
    assert first["send_initial_events"] is True
    assert first["resource_version_match"] == "NotOlderThan"
    assert first["resource_version"] == ""  # the current state, not one from the watch cache
    stored = running.store.get("ns/a")
    assert stored is not None and stored["metadata"]["resourceVersion"] == "11"
    listed = running.store.get("ns/b")
    assert listed is not None and (listed["apiVersion"], listed["kind"]) == ("v1", "ConfigMap")


def test_an_object_deleted_while_the_list_streams_is_not_stored() -> None:
    client = ScriptedClient(
        lists=[],
        watches=[
            [
                event("ADDED", cm("a", "3")),
                event("ADDED", cm("b", "4")),
                event("DELETED", cm("a", "5")),
                initial_events_end("10"),
            ]
        ],
    )
    with Running(client, watch_list=True) as running:
        wait_for(lambda: running.store.calls, message="the streamed list stored")

    assert running.store.calls[0] == ("replace", "b")
    assert running.store.list_keys() == ["ns/b"]


def test_a_streamed_list_cut_short_falls_back_to_a_paged_list() -> None:
    client = ScriptedClient(
        lists=[page([cm("a", "3"), cm("b", "4")], "10")],
        watches=[[event("ADDED", cm("a", "3"))]],  # ends before the initial-events-end bookmark
    )
    with Running(client, watch_list=True) as running:
        wait_for(lambda: len(client.watch_calls) >= 2, message="a watch after the fallback list")

    assert running.store.calls == [("replace", "a,b")]  # the partial stream stored nothing
    assert len(client.list_calls) == 1
    assert client.watch_calls[1]["resource_version"] == "10"
    assert not client.watch_calls[1].get("send_initial_events")
    assert client.streams[0].closed.is_set()


def test_a_server_refusing_streamed_lists_is_listed_instead() -> None:
    refused = ApiError(400, "BadRequest", "sendInitialEvents is not supported")
    client = ScriptedClient(lists=[page([cm("a", "3")], "10")], watches=[refused])
    with Running(client, watch_list=True) as running:
        wait_for(lambda: len(client.watch_calls) >= 2, message="a watch after the fallback list")

    assert running.store.calls == [("replace", "a")]
    assert running.backoff.calls == 0  # falling back is not a failure to back off from
