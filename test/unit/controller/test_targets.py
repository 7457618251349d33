"""The lock key of a target: one object, one key, however its kind is written (SPEC §3)."""

from __future__ import annotations

from typing import Any

import pytest

from wfe.controller.naming import pipeline_run_name
from wfe.controller.targets import AS_WRITTEN, KindNames

# Discovery's APIResourceLists as the API server serves them (trimmed), most preferred first.
CORE: dict[str, Any] = {
    "groupVersion": "v1",
    "resources": [
        {"name": "pods", "singularName": "pod", "kind": "Pod", "shortNames": ["po"]},
        {"name": "pods/log", "singularName": "", "kind": "Pod"},
        {"name": "nodes", "singularName": "node", "kind": "Node", "shortNames": ["no"]},
        {"name": "events", "singularName": "event", "kind": "Event", "shortNames": ["ev"]},
    ],
}
APPS: dict[str, Any] = {
    "groupVersion": "apps/v1",
    "resources": [
        {
            "name": "deployments",
            "singularName": "deployment",
            "kind": "Deployment",
            "shortNames": ["deploy"],
        },
        {"name": "deployments/scale", "singularName": "", "kind": "Scale"},
        {"name": "statefulsets", "singularName": "", "kind": "StatefulSet", "shortNames": ["sts"]},
    ],
}
EVENTS_GROUP: dict[str, Any] = {
    "groupVersion": "events.k8s.io/v1",
    "resources": [
        {"name": "events", "singularName": "event", "kind": "Event", "shortNames": ["ev"]}
    ],
}
METRICS: dict[str, Any] = {
    "groupVersion": "metrics.k8s.io/v1beta1",
    "resources": [{"name": "pods", "singularName": "", "kind": "PodMetrics"}],
}
KINDS = KindNames.from_resource_lists([CORE, APPS, EVENTS_GROUP, METRICS])


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("fz/deployment/app", "fz/deployment/app"),
        ("fz/deployments/app", "fz/deployment/app"),
        ("fz/deploy/app", "fz/deployment/app"),
        ("fz/Deployment/app", "fz/deployment/app"),
        ("node/worker-1", "node/worker-1"),
        ("nodes/worker-1", "node/worker-1"),
        ("no/worker-1", "node/worker-1"),
        ("db/sts/postgres", "db/statefulset/postgres"),  # no singularName: the kind, lowercased
        ("db/pods/web-0", "db/pod/web-0"),  # the core group's meaning wins over metrics.k8s.io
    ],
)
def test_plural_short_and_singular_names_map_to_one_key(written: str, key: str) -> None:
    assert KINDS.key(written) == key


def test_one_target_written_four_ways_is_one_pipeline_run_name() -> None:
    names = {
        pipeline_run_name(KINDS.key(t))
        for t in ("fz/Deployment/app", "fz/deployment/app", "fz/deployments/app", "fz/deploy/app")
    }
    assert names == {pipeline_run_name("fz/deployment/app")}


def test_the_lock_name_of_an_already_canonical_target_does_not_change() -> None:
    # the SPEC's examples: upgrading must not move any existing lock
    assert pipeline_run_name(KINDS.key("payment/deployment/payment-api")) == "wfe-cf0cc089293b1165"
    assert pipeline_run_name(KINDS.key("node/worker-node-1")) == "wfe-ac45b7d6911e97a5"


def test_a_kind_discovery_does_not_know_is_used_as_written() -> None:
    assert KINDS.key("fz/widgets/app") == "fz/widgets/app"
    assert AS_WRITTEN.key("fz/deployments/app") == "fz/deployments/app"


def test_subresources_are_not_kinds() -> None:
    assert KINDS.canonical_kind("log") == "log"
    assert KINDS.canonical_kind("scale") == "scale"
