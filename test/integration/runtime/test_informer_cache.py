"""The informer cache as the controller reads it: get, list, field indexes, namespaces, sync state."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.wait import wait_for

from wfe.runtime.cache import Cache, ExponentialBackoff, ReflectorOptions, ResourceNotCachedError
from wfe.runtime.client import NAMESPACES, Client, Resource

pytestmark = pytest.mark.integration

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
OPTIONS = ReflectorOptions(backoff=lambda: ExponentialBackoff(0.05, 0.2))
SYNC_TIMEOUT = 15.0


@pytest.fixture
def other_namespace(admin_client: Client) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    admin_client.create(NAMESPACES, {"metadata": {"name": name}})
    yield name
    admin_client.delete(NAMESPACES, name)


@pytest.fixture
def cache(admin_client: Client) -> Iterator[Cache]:
    cache = Cache(admin_client, reflector_options=OPTIONS)
    yield cache
    cache.stop()


def target(name: str, namespace: str, target_resource: str, run: str) -> dict[str, Any]:
    """A ConfigMap standing in for a WorkflowExecution with a spec.targetResource."""
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"run": run}},
        "data": {"targetResource": target_resource},
    }


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in objs]


def test_a_field_index_answers_who_else_targets_a_resource_across_namespaces(
    admin_client: Client, cache: Cache, namespace: str, other_namespace: str
) -> None:
    run = uuid.uuid4().hex[:8]
    cache.informer_for(CONFIGMAPS, label_selector=f"run={run}")
    index = cache.index_field(
        CONFIGMAPS, "data.targetResource", lambda o: [o.get("data", {}).get("targetResource", "")]
    )
    cache.start()
    assert cache.wait_for_cache_sync(SYNC_TIMEOUT)

    admin_client.create(CONFIGMAPS, target("a", namespace, "payment/deployment/api", run))
    admin_client.create(CONFIGMAPS, target("b", other_namespace, "payment/deployment/api", run))
    admin_client.create(CONFIGMAPS, target("c", namespace, "node/worker-1", run))

    wait_for(lambda: len(cache.list(CONFIGMAPS)) == 3, message="all three in the cache")
    assert index == "field:data.targetResource"
    assert sorted(names(cache.by_index(CONFIGMAPS, index, "payment/deployment/api"))) == sorted(
        [f"{namespace}/a", f"{other_namespace}/b"]
    )
    assert names(cache.by_index(CONFIGMAPS, index, "node/worker-1")) == [f"{namespace}/c"]

    admin_client.patch(
        CONFIGMAPS, "c", {"data": {"targetResource": "payment/deployment/api"}}, namespace
    )
    wait_for(
        lambda: cache.by_index(CONFIGMAPS, index, "node/worker-1") == [],
        message="the changed target to leave its old index value",
    )
    assert len(cache.by_index(CONFIGMAPS, index, "payment/deployment/api")) == 3


def test_get_and_list_read_the_cache_by_namespace_and_labels(
    admin_client: Client, cache: Cache, namespace: str, other_namespace: str
) -> None:
    run = uuid.uuid4().hex[:8]
    for ns in (namespace, other_namespace):
        admin_client.create(
            CONFIGMAPS,
            {
                "metadata": {
                    "name": "blue",
                    "namespace": ns,
                    "labels": {"run": run, "color": "blue"},
                }
            },
        )
    admin_client.create(
        CONFIGMAPS,
        {
            "metadata": {
                "name": "red",
                "namespace": namespace,
                "labels": {"run": run, "color": "red"},
            }
        },
    )
    cache.informer_for(CONFIGMAPS, label_selector=f"run={run}")
    cache.start()
    assert cache.wait_for_cache_sync(SYNC_TIMEOUT)

    blue = cache.get(CONFIGMAPS, "blue", namespace)
    assert blue is not None and blue["metadata"]["namespace"] == namespace
    assert cache.get(CONFIGMAPS, "missing", namespace) is None
    assert sorted(names(cache.list(CONFIGMAPS))) == sorted(
        [f"{namespace}/blue", f"{namespace}/red", f"{other_namespace}/blue"]
    )
    assert sorted(names(cache.list(CONFIGMAPS, namespace))) == [
        f"{namespace}/blue",
        f"{namespace}/red",
    ]
    assert sorted(names(cache.list(CONFIGMAPS, label_selector={"color": "blue"}))) == sorted(
        [f"{namespace}/blue", f"{other_namespace}/blue"]
    )
    assert names(cache.list(CONFIGMAPS, namespace, {"color": "red", "run": run})) == [
        f"{namespace}/red"
    ]


def test_objects_read_from_the_cache_are_private_copies(
    admin_client: Client, cache: Cache, namespace: str
) -> None:
    admin_client.create(
        CONFIGMAPS, {"metadata": {"name": "cm", "namespace": namespace}, "data": {"k": "v"}}
    )
    cache.informer_for(CONFIGMAPS, namespace=namespace)
    cache.start()
    assert cache.wait_for_cache_sync(SYNC_TIMEOUT)

    cache.get(CONFIGMAPS, "cm", namespace)["data"]["k"] = "edited"  # type: ignore[index]
    cache.list(CONFIGMAPS, namespace)[0]["data"]["k"] = "edited"

    assert cache.get(CONFIGMAPS, "cm", namespace)["data"] == {"k": "v"}  # type: ignore[index]


def test_the_default_namespace_confines_informers_and_gets(
    admin_client: Client, namespace: str, other_namespace: str
) -> None:
    for ns in (namespace, other_namespace):
        admin_client.create(CONFIGMAPS, {"metadata": {"name": "same-name", "namespace": ns}})
    cache = Cache(admin_client, default_namespace=namespace, reflector_options=OPTIONS)
    informer = cache.informer_for(CONFIGMAPS)
    cache.start()
    try:
        assert cache.wait_for_cache_sync(SYNC_TIMEOUT)
        assert informer.namespace == namespace
        found = cache.get(CONFIGMAPS, "same-name")
        assert found is not None and found["metadata"]["namespace"] == namespace
        assert names(cache.list(CONFIGMAPS)) == [f"{namespace}/same-name"]
    finally:
        cache.stop()


def test_the_cache_is_synced_only_once_every_informer_has_listed(
    admin_client: Client, cache: Cache, namespace: str
) -> None:
    cache.informer_for(CONFIGMAPS, namespace=namespace)
    cache.informer_for(SECRETS, namespace=namespace)
    assert not cache.has_synced()

    cache.start()

    assert cache.wait_for_cache_sync(SYNC_TIMEOUT)
    assert cache.has_synced()


def test_an_informer_asked_for_after_start_starts_at_once(
    admin_client: Client, cache: Cache, namespace: str
) -> None:
    cache.start()
    admin_client.create(CONFIGMAPS, {"metadata": {"name": "late", "namespace": namespace}})

    cache.informer_for(CONFIGMAPS, namespace=namespace)

    assert cache.wait_for_cache_sync(SYNC_TIMEOUT)
    assert cache.get(CONFIGMAPS, "late", namespace) is not None


def test_misuse_is_refused_with_a_clear_error(cache: Cache, namespace: str) -> None:
    cache.informer_for(CONFIGMAPS, namespace=namespace)

    with pytest.raises(ResourceNotCachedError):
        cache.get(SECRETS, "anything", namespace)
    with pytest.raises(ValueError, match="already watches"):
        cache.informer_for(CONFIGMAPS, label_selector="app=other")
    with pytest.raises(ValueError, match="namespaced"):
        cache.get(CONFIGMAPS, "no-namespace")

    cache.start()
    with pytest.raises(RuntimeError, match="index first"):
        cache.index_field(CONFIGMAPS, "data.x", lambda o: [])


def test_a_stop_event_stops_the_cache(admin_client: Client, namespace: str) -> None:
    stop = threading.Event()
    cache = Cache(admin_client, reflector_options=OPTIONS)
    informer = cache.informer_for(CONFIGMAPS, namespace=namespace)
    cache.start(stop)
    assert cache.wait_for_cache_sync(SYNC_TIMEOUT)

    stop.set()

    wait_for(informer.is_stopped, message="the informer to stop")
