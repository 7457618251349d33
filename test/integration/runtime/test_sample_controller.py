"""A tiny controller built only from wfe.runtime converges 200 objects against the real API server.

The sample mirrors every ConfigMap labelled ``role=source`` into ``<name>-mirror`` (same data), and
removes the mirror when the source goes: create, update and delete all converge, through one Manager
with its cache, controller, workers and watches.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.wait import wait_for

from wfe.runtime.cache import Cache
from wfe.runtime.client import Client, Resource, is_already_exists, is_not_found
from wfe.runtime.controller import Controller
from wfe.runtime.handler import EnqueueRequestsFromMapFunc
from wfe.runtime.manager import Manager
from wfe.runtime.reconcile import Request, Result
from wfe.runtime.source import Kind

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SOURCES = 200


def source_of(obj: dict[str, Any]) -> list[Request]:
    meta = obj["metadata"]
    labels = meta.get("labels") or {}
    if labels.get("role") == "source":
        return [Request(meta["namespace"], meta["name"])]
    if labels.get("role") == "mirror" and labels.get("mirror-of"):
        return [Request(meta["namespace"], labels["mirror-of"])]
    return []


class MirrorReconciler:
    def __init__(self, client: Client, cache: Cache):
        self.client, self.cache = client, cache

    def __call__(self, request: Request) -> Result:
        source = self.cache.get(CONFIGMAPS, request.name, request.namespace)
        mirror_name = f"{request.name}-mirror"
        mirror = self.cache.get(CONFIGMAPS, mirror_name, request.namespace)
        if source is None:
            if mirror is not None:
                try:
                    self.client.delete(CONFIGMAPS, mirror_name, request.namespace)
                except Exception as err:
                    if not is_not_found(err):
                        raise
            return Result()
        desired = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": mirror_name,
                "namespace": request.namespace,
                "labels": {"role": "mirror", "mirror-of": request.name},
            },
            "data": source.get("data") or {},
        }
        if mirror is None:
            try:
                self.client.create(CONFIGMAPS, desired)
            except Exception as err:
                if not is_already_exists(err):  # the cache had not seen it yet
                    raise
        elif mirror.get("data") != desired["data"]:
            desired["metadata"]["resourceVersion"] = mirror["metadata"]["resourceVersion"]
            self.client.update(CONFIGMAPS, desired)  # a stale view is a 409: retried by the queue
        return Result()


@pytest.fixture
def sample_controller(admin_client: Client, namespace: str) -> Iterator[Manager]:
    cache = Cache(admin_client, default_namespace=namespace)
    controller = Controller(
        f"mirror-{uuid.uuid4().hex[:6]}",
        MirrorReconciler(admin_client, cache),
        max_concurrent_reconciles=4,
    )
    controller.watch(Kind(cache.informer_for(CONFIGMAPS), EnqueueRequestsFromMapFunc(source_of)))
    manager = Manager(
        admin_client, cache=cache, metrics_bind_address="0", health_probe_bind_address="127.0.0.1:0"
    )
    manager.add(controller)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            manager.start(stop)
        except BaseException as err:  # surfaced by the test, not swallowed
            errors.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield manager
    stop.set()
    thread.join(40)
    assert not thread.is_alive() and errors == []


def mirrors(client: Client, namespace: str) -> dict[str, dict[str, str]]:
    listed = client.list(CONFIGMAPS, namespace, label_selector="role=mirror")["items"]
    return {o["metadata"]["labels"]["mirror-of"]: o.get("data") or {} for o in listed}


def test_sample_controller_converges_200_objects(
    sample_controller: Manager, admin_client: Client, namespace: str
) -> None:
    names = [f"src-{i:03d}" for i in range(SOURCES)]
    for name in names:
        admin_client.create(
            CONFIGMAPS,
            {
                "metadata": {"name": name, "namespace": namespace, "labels": {"role": "source"}},
                "data": {"value": name},
            },
        )
    wait_for(
        lambda: mirrors(admin_client, namespace) == {n: {"value": n} for n in names},
        timeout=90,
        interval=0.5,
        message="200 mirrors with their sources' data",
    )

    for name in names[:50]:
        source = admin_client.get(CONFIGMAPS, name, namespace)
        source["data"] = {"value": f"{name}-v2"}
        admin_client.update(CONFIGMAPS, source)
    for name in names[150:]:
        admin_client.delete(CONFIGMAPS, name, namespace)

    expected = {n: {"value": f"{n}-v2"} for n in names[:50]}
    expected.update({n: {"value": n} for n in names[50:150]})
    wait_for(
        lambda: mirrors(admin_client, namespace) == expected,
        timeout=90,
        interval=0.5,
        message="updates mirrored and deleted sources' mirrors gone",
    )
