"""Every line of a reconcile carries the WFE's correlation_id (SPEC §8), read from the cache."""

from __future__ import annotations

from kubernetes import client as k8s_client

from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.controller.setup import correlation_log_fields
from wfe.runtime.cache.cache import Cache
from wfe.runtime.client import Client
from wfe.runtime.reconcile import Request


def test_the_correlation_id_is_the_remediation_requests_name() -> None:
    cache = Cache(Client(k8s_client.Configuration(host="http://127.0.0.1:1")))
    store = cache.informer_for(WORKFLOW_EXECUTIONS).indexer
    store.add(
        {
            "metadata": {"name": "wfe-1", "namespace": "ns"},
            "spec": {"remediationRequestRef": {"name": "rr-payment-oom"}},
        }
    )
    store.add({"metadata": {"name": "no-ref", "namespace": "ns"}, "spec": {}})
    fields = correlation_log_fields(cache)

    assert fields(Request("ns", "wfe-1")) == {"correlation_id": "rr-payment-oom"}
    assert fields(Request("ns", "no-ref")) == {}
    assert fields(Request("ns", "gone")) == {}
