"""Which version a reconcile decides on when the cache lags the controller's own writes."""

from __future__ import annotations

from typing import Any

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
