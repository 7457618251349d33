"""Informers against a real API server: events, initial sync, resumed watches, relists, selectors."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from support.wait import wait_for

from wfe.runtime.cache import ExponentialBackoff, ReflectorOptions, SharedIndexInformer
from wfe.runtime.client import Client, Resource, WatchStream
from wfe.runtime.envtest import ControlPlane

pytestmark = pytest.mark.integration

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
EVENTS = Resource("", "v1", "events", "Event")
PIPELINERUNS = Resource("tekton.dev", "v1", "pipelineruns", "PipelineRun")

FAST_BACKOFF = ReflectorOptions(backoff=lambda: ExponentialBackoff(0.05, 0.2))
# The server ends every watch after 1-2 s, so each test sees many watches end and resume.
SHORT_WATCHES = ReflectorOptions(min_watch_timeout=1, backoff=FAST_BACKOFF.backoff)


class RecordingHandler:
    """Keeps every notification as (kind, name, resourceVersion or data) in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[tuple[str, str, Any]] = []
        self.updates: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self._record("add", obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        with self._lock:
            self.updates.append((old, new))
        self._record("update", new)

    def on_delete(self, obj: dict[str, Any]) -> None:
        self._record("delete", obj)

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        with self._lock:
            self.events.append((kind, obj["metadata"]["name"], obj.get("data")))

    def of(self, kind: str) -> list[str]:
        with self._lock:
            return [name for k, name, _ in self.events if k == kind]


class ObservedClient(Client):
    """The admin client, counting full reads of the state (a LIST or a streaming list) and able to
    hold watches back (the informer is offline)."""

    def __init__(self, client: Client):
        super().__init__(client.configuration)
        self.lists = 0
        self.list_requests = 0
        self.watch_held = threading.Event()
        self._watches_open = threading.Event()
        self._watches_open.set()

    def list(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.lists += 1
        self.list_requests += 1
        return super().list(*args, **kwargs)

    def watch(self, *args: Any, **kwargs: Any) -> WatchStream:
        if kwargs.get("send_initial_events"):
            self.lists += 1
        if not self._watches_open.is_set():
            self.watch_held.set()
            self._watches_open.wait(30)
        return super().watch(*args, **kwargs)

    def hold_watches(self) -> None:
        self.watch_held.clear()
        self._watches_open.clear()

    def release_watches(self) -> None:
        self._watches_open.set()


@pytest.fixture
def informers() -> Iterator[list[SharedIndexInformer]]:
    """Informers a test starts; all are stopped (promptly, or the test fails) at its end."""
    started: list[SharedIndexInformer] = []
    yield started
    for informer in started:
        began = time.monotonic()
        informer.stop(timeout=5)
        assert time.monotonic() - began < 3, "stopping an informer must not wait for its watch"


def start(
    informers: list[SharedIndexInformer],
    client: Client,
    resource: Resource,
    namespace: str,
    handler: RecordingHandler | None = None,
    **kwargs: Any,
) -> SharedIndexInformer:
    kwargs.setdefault("reflector_options", FAST_BACKOFF)
    informer = SharedIndexInformer(client, resource, namespace=namespace, **kwargs)
    if handler is not None:
        informer.add_event_handler(handler)
    informers.append(informer)
    informer.start()
    assert informer.wait_for_sync(15), "informer did not sync"
    return informer


def configmap(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"v": "1"},
    }


def names(informer: SharedIndexInformer) -> list[str]:
    return sorted(o["metadata"]["name"] for o in informer.indexer.list())


def server_names(client: Client, resource: Resource, namespace: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in client.list(resource, namespace)["items"])


# --- events ------------------------------------------------------------------------------------


def test_handlers_see_create_update_and_delete_with_old_and_new_state(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    handler = RecordingHandler()
    informer = start(informers, admin_client, CONFIGMAPS, namespace, handler)

    admin_client.create(CONFIGMAPS, configmap("a", namespace))
    admin_client.patch(CONFIGMAPS, "a", {"data": {"v": "2"}}, namespace)
    admin_client.delete(CONFIGMAPS, "a", namespace)

    wait_for(lambda: handler.of("delete") == ["a"], message="the delete")
    assert handler.events == [
        ("add", "a", {"v": "1"}),
        ("update", "a", {"v": "2"}),
        ("delete", "a", {"v": "2"}),
    ]
    old, new = handler.updates[0]
    assert old["data"] == {"v": "1"} and new["data"] == {"v": "2"}
    assert informer.indexer.list() == []


def test_a_status_only_change_delivered_by_the_watch_is_an_update(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    handler = RecordingHandler()
    informer = start(informers, admin_client, PIPELINERUNS, namespace, handler)
    run = admin_client.create(
        PIPELINERUNS,
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {"name": "wfe-run", "namespace": namespace},
            "spec": {"pipelineRef": {"name": "workflow"}},
        },
    )
    wait_for(lambda: handler.of("add") == ["wfe-run"], message="the add")

    run["status"] = {"conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}]}
    admin_client.update_status(PIPELINERUNS, run)

    wait_for(lambda: handler.of("update") == ["wfe-run"], message="the status update")
    old, new = handler.updates[0]
    assert "status" not in old or not old["status"].get("conditions")
    assert new["status"]["conditions"][0]["status"] == "True"
    cached = informer.indexer.get_by_key(f"{namespace}/wfe-run")
    assert cached is not None and cached["status"]["conditions"][0]["reason"] == "Succeeded"


# --- initial sync ------------------------------------------------------------------------------


@pytest.mark.parametrize("watch_list", [True, False], ids=["streaming-list", "paged-list"])
def test_synced_means_every_listed_object_is_cached_and_its_add_queued(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer], watch_list: bool
) -> None:
    for i in range(7):
        admin_client.create(CONFIGMAPS, configmap(f"cm-{i}", namespace))
    handler = RecordingHandler()
    client = ObservedClient(admin_client)
    # pages of 3 (the watch cache may serve the first list, at resourceVersion "0", in one)
    options = ReflectorOptions(page_size=3, backoff=FAST_BACKOFF.backoff, use_watch_list=watch_list)

    informer = start(informers, client, CONFIGMAPS, namespace, handler, reflector_options=options)

    assert informer.has_synced()
    assert names(informer) == [f"cm-{i}" for i in range(7)]
    wait_for(
        lambda: sorted(handler.of("add")) == [f"cm-{i}" for i in range(7)],
        message="every add delivered (on the handler's own thread)",
    )
    cached = informer.indexer.get_by_key(f"{namespace}/cm-0")
    assert cached is not None and (cached["apiVersion"], cached["kind"]) == ("v1", "ConfigMap")
    assert client.lists == 1
    # the API server streams the initial state: no LIST request at all
    assert client.list_requests == (0 if watch_list else 1)
    admin_client.create(CONFIGMAPS, configmap("later", namespace))
    wait_for(lambda: "later" in handler.of("add"), message="a change after the sync")


def test_a_handler_added_after_sync_gets_the_cached_objects_then_later_changes(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    admin_client.create(CONFIGMAPS, configmap("before", namespace))
    informer = start(informers, admin_client, CONFIGMAPS, namespace)
    late = RecordingHandler()

    informer.add_event_handler(late)
    admin_client.create(CONFIGMAPS, configmap("after", namespace))

    wait_for(lambda: late.of("add") == ["before", "after"], message="both adds, in order")


def test_a_failing_handler_does_not_stop_delivery_to_the_others(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    class Exploding(RecordingHandler):
        def on_add(self, obj: dict[str, Any]) -> None:
            raise RuntimeError("handler bug")

    healthy = RecordingHandler()
    informer = start(informers, admin_client, CONFIGMAPS, namespace, Exploding())
    informer.add_event_handler(healthy)

    admin_client.create(CONFIGMAPS, configmap("one", namespace))
    admin_client.create(CONFIGMAPS, configmap("two", namespace))

    wait_for(lambda: healthy.of("add") == ["one", "two"], message="adds past the failing handler")


def test_a_resync_period_redelivers_every_cached_object_as_an_update(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    admin_client.create(CONFIGMAPS, configmap("a", namespace))
    handler = RecordingHandler()

    start(informers, admin_client, CONFIGMAPS, namespace, handler, resync_period=0.2)

    wait_for(lambda: len(handler.of("update")) >= 2, message="two resyncs")
    old, new = handler.updates[0]
    assert old == new
    assert new["metadata"]["name"] == "a"


# --- resilience --------------------------------------------------------------------------------


def test_watches_the_server_ends_are_resumed_without_losing_events_or_relisting(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    client = ObservedClient(admin_client)
    handler = RecordingHandler()
    informer = start(
        informers, client, CONFIGMAPS, namespace, handler, reflector_options=SHORT_WATCHES
    )

    # spread the writes over several server-side watch timeouts (1-2 s each)
    deadline = time.monotonic() + 4.5
    created = 0
    while time.monotonic() < deadline:
        admin_client.create(CONFIGMAPS, configmap(f"cm-{created}", namespace))
        created += 1
        time.sleep(0.15)
    admin_client.delete(CONFIGMAPS, "cm-0", namespace)

    expected = sorted(f"cm-{i}" for i in range(1, created))
    wait_for(lambda: names(informer) == expected, message="the store to match the server")
    wait_for(lambda: handler.of("delete") == ["cm-0"], message="the delete")
    assert sorted(handler.of("add")) == sorted(f"cm-{i}" for i in range(created))
    assert handler.of("update") == [], "a relist would have re-delivered every object as an update"
    assert client.lists == 1


def test_after_a_compaction_expired_its_version_the_informer_relists_and_reports_deletes(
    control_plane: ControlPlane,
    admin_client: Client,
    namespace: str,
    informers: list[SharedIndexInformer],
) -> None:
    """Core Events: the one core kind the API server serves from etcd (no watch cache), so a
    compaction expires an old resourceVersion exactly as it would for any kind on a busy cluster."""
    client = ObservedClient(admin_client)
    handler = RecordingHandler()
    for name in ("kept", "changed", "removed"):
        admin_client.create(EVENTS, event(name, namespace))
    informer = start(informers, client, EVENTS, namespace, handler, reflector_options=SHORT_WATCHES)

    client.hold_watches()  # the next resume waits: the informer is offline from here on
    assert client.watch_held.wait(10), "the server did not end the watch"
    admin_client.delete(EVENTS, "removed", namespace)
    admin_client.patch(EVENTS, "changed", {"message": "changed while offline"}, namespace)
    admin_client.create(EVENTS, event("created", namespace))
    compact_etcd(control_plane.etcd_endpoint)
    client.release_watches()

    wait_for(
        lambda: names(informer) == server_names(admin_client, EVENTS, namespace),
        message="the store to converge on the server's state",
    )
    assert names(informer) == ["changed", "created", "kept"]
    assert client.lists == 2, "expected exactly one relist"
    wait_for(lambda: handler.of("delete") == ["removed"], message="the synthetic delete")
    assert sorted(handler.of("add")) == ["changed", "created", "kept", "removed"]
    changed = informer.indexer.get_by_key(f"{namespace}/changed")
    assert changed is not None and changed["message"] == "changed while offline"
    # the relist re-delivered only what changed, not every unchanged object as an update
    wait_for(lambda: handler.of("update") == ["changed"], message="the one real update")
    assert "kept" not in handler.of("update")


# --- selectors ---------------------------------------------------------------------------------


def test_a_label_selector_limits_the_cache_and_an_object_leaving_it_is_deleted(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    admin_client.create(CONFIGMAPS, configmap("ours", namespace, owner="wfe"))
    admin_client.create(CONFIGMAPS, configmap("theirs", namespace, owner="someone"))
    handler = RecordingHandler()
    informer = start(
        informers, admin_client, CONFIGMAPS, namespace, handler, label_selector="owner=wfe"
    )
    assert names(informer) == ["ours"]

    admin_client.create(CONFIGMAPS, configmap("ours-too", namespace, owner="wfe"))
    admin_client.patch(CONFIGMAPS, "ours", {"metadata": {"labels": {"owner": "other"}}}, namespace)

    wait_for(lambda: names(informer) == ["ours-too"], message="the cache to follow the selector")
    wait_for(lambda: handler.of("delete") == ["ours"], message="the delete of the relabelled one")


def test_a_field_selector_limits_the_cache(
    admin_client: Client, namespace: str, informers: list[SharedIndexInformer]
) -> None:
    admin_client.create(CONFIGMAPS, configmap("wanted", namespace))
    admin_client.create(CONFIGMAPS, configmap("unwanted", namespace))
    informer = start(
        informers, admin_client, CONFIGMAPS, namespace, field_selector="metadata.name=wanted"
    )

    admin_client.patch(CONFIGMAPS, "unwanted", {"data": {"v": "2"}}, namespace)
    admin_client.patch(CONFIGMAPS, "wanted", {"data": {"v": "2"}}, namespace)

    wait_for(
        lambda: (
            (informer.indexer.get_by_key(f"{namespace}/wanted") or {}).get("data") == {"v": "2"}
        ),
        message="the update of the selected object",
    )
    assert names(informer) == ["wanted"]


# --- helpers -----------------------------------------------------------------------------------


def event(name: str, namespace: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
        "reason": "Test",
        "message": "created",
        "type": "Normal",
    }


def compact_etcd(endpoint: str) -> int:
    """Compacts etcd at its current revision (its v3 JSON gateway); returns that revision."""
    header = _etcd(endpoint, "/v3/kv/range", {"key": base64.b64encode(b"\0").decode()})["header"]
    revision = int(header["revision"])
    _etcd(endpoint, "/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision


def _etcd(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        endpoint + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer
