"""Which version a reconcile decides on when the cache lags the controller's own writes."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson

from wfe.controller.own_writes import OwnWrites

Object = dict[str, Any]


def wfe(version: str, phase: str = "", uid: str = "uid-1", name: str = "a") -> Object:
    return {
        "metadata": {"namespace": "ns", "name": name, "uid": uid, "resourceVersion": version},
        "status": {"phase": phase},
    }


def test_a_cache_showing_the_version_our_write_replaced_yields_our_write() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2", "Running"))
    decided = own.freshest(wfe("1"))
    assert decided["metadata"]["resourceVersion"] == "2"
    assert decided["status"]["phase"] == "Running"


def test_every_version_a_chain_of_our_writes_replaced_yields_the_last_write() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2"))  # finalizer
    own.record(wfe("2"), wfe("3", "Running"))  # status
    for cached in ("1", "2"):
        assert own.freshest(wfe(cached))["metadata"]["resourceVersion"] == "3"


def test_once_the_cache_caught_up_the_memory_is_dropped() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2", "Running"))
    assert own.freshest(wfe("2", "Running"))["metadata"]["resourceVersion"] == "2"
    assert len(own) == 0
    assert own.freshest(wfe("1"))["metadata"]["resourceVersion"] == "1"


def test_a_version_written_by_someone_else_wins_over_our_memory() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2", "Running"))
    assert own.freshest(wfe("7", "Failed"))["status"]["phase"] == "Failed"
    assert len(own) == 0


def test_an_object_recreated_under_the_same_name_is_not_confused_with_the_old_one() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2", "Running"))
    fresh = own.freshest(wfe("1", uid="uid-2"))
    assert fresh["metadata"]["uid"] == "uid-2"
    assert fresh["status"]["phase"] == ""


def test_a_write_not_following_the_last_one_starts_a_new_chain() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2"))
    own.record(wfe("5"), wfe("6", "Completed"))  # decided on a live read, not on our write
    assert own.freshest(wfe("1"))["metadata"]["resourceVersion"] == "1"


def test_callers_get_a_copy_they_may_change() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2", "Running"))
    own.freshest(wfe("1"))["status"]["phase"] = "mutated"
    assert own.freshest(wfe("1"))["status"]["phase"] == "Running"


def test_a_deleted_object_is_forgotten() -> None:
    own = OwnWrites()
    own.record(wfe("1"), wfe("2"))
    own.record(wfe("1", name="b"), wfe("2", name="b"))
    own.forget("ns", "a")
    assert len(own) == 1


def test_callers_changing_what_they_recorded_do_not_change_the_memory() -> None:
    own = OwnWrites()
    stored = wfe("2", "Running")
    own.record(wfe("1"), stored)
    stored["status"]["phase"] = "mutated by the reconcile that wrote it"
    assert own.freshest(wfe("1"))["status"]["phase"] == "Running"


def running_wfe(index: int, version: str) -> Object:
    """A WorkflowExecution as the status write returns it in a burst: spec, six conditions."""
    conditions = [
        {
            "type": kind,
            "status": "True",
            "reason": f"{kind}Reason",
            "message": f"{kind} for workflow {index}: " + "detail " * 12,
            "lastTransitionTime": "2026-11-30T21:14:15Z",
            "observedGeneration": 1,
        }
        for kind in (
            "Validated",
            "ResourceLocked",
            "ExecutionCreated",
            "Running",
            "Audited",
            "Ready",
        )
    ]
    return {
        "apiVersion": "workflowexecution.kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {
            "namespace": "ns",
            "name": f"burst-{index}",
            "uid": f"00000000-0000-0000-0000-{index:012d}",
            "resourceVersion": version,
            "generation": 1,
            "finalizers": ["workflowexecution.kubernaut.ai/finalizer"],
            "labels": {"kubernaut.ai/remediation-request": f"rr-{index}"},
        },
        "spec": {
            "remediationRequestRef": {"name": f"rr-{index}", "namespace": "ns"},
            "workflowRef": {
                "workflowId": "restart",
                "executionBundle": "registry/x@sha256:" + "a" * 64,
            },
            "targetResource": f"ns/deployment/app-{index}",
            "parameters": {"NAMESPACE": "ns", "DEPLOYMENT": f"app-{index}"},
        },
        "status": {
            "phase": "Running",
            "pipelineRunRef": {"name": f"wfe-{index}"},
            "conditions": conditions,
        },
    }


def test_a_remembered_write_costs_about_its_json_not_its_decoded_tree() -> None:
    """In a burst every written workflow waits here until its own write's event is reconciled:
    hundreds at once. Each must cost about its compact JSON (~2.5 KB), not the ~15 KiB of the
    decoded tree the status write returned."""
    count = 300
    json_size = len(orjson.dumps(running_wfe(0, "2")))
    own = OwnWrites()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for index in range(count):
            stored = orjson.loads(orjson.dumps(running_wfe(index, "2")))  # as the client decodes
            own.record(wfe("1", name=stored["metadata"]["name"]), stored)
        del stored  # the reconciles that wrote them are over: only the memory holds them now
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(own) == count
    per_entry = (held - before) / count
    assert per_entry < 1.5 * json_size, f"{per_entry:.0f} bytes an entry for {json_size} of JSON"
