"""The cache keeps what controllers read and drops server-side-apply bookkeeping (managedFields)."""

from __future__ import annotations

from support.wait import wait_for

from wfe.runtime.cache import Cache
from wfe.runtime.client import Client, Resource

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


def test_cached_objects_carry_no_managed_fields(admin_client: Client, namespace: str) -> None:
    stored = admin_client.create(
        CONFIGMAPS, {"metadata": {"name": "slim", "namespace": namespace}, "data": {"k": "v"}}
    )
    assert stored["metadata"].get("managedFields"), "the API server records managedFields"
    cache = Cache(admin_client, default_namespace=namespace)
    cache.informer_for(CONFIGMAPS)
    cache.start()
    try:
        assert cache.wait_for_cache_sync(30)
        cached = wait_for(lambda: cache.get(CONFIGMAPS, "slim", namespace), timeout=10)
        assert "managedFields" not in cached["metadata"]
        assert cached["data"] == {"k": "v"}
        assert cached["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    finally:
        cache.stop()
