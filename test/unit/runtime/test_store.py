"""The indexer's contract: keyed objects, indexes that follow every change, relist diffs, copy safety."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from wfe.runtime.cache import (
    NAMESPACE_INDEX,
    ChangeType,
    Indexer,
    field_index_name,
    index_by_field,
    meta_namespace_key,
    namespace_index,
    split_meta_namespace_key,
)
from wfe.runtime.cache import store as store_module

TARGET = field_index_name("spec.targetResource")


def wfe(
    name: str, target: str | None = None, namespace: str = "ns", rv: str = "1"
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv},
        "spec": {},
        "status": {"phase": "Pending"},
    }
    if target is not None:
        obj["spec"]["targetResource"] = target
    return obj


def new_indexer() -> Indexer:
    return Indexer(
        {NAMESPACE_INDEX: namespace_index, TARGET: index_by_field("spec.targetResource")}
    )


# --- keys --------------------------------------------------------------------------------------


def test_namespaced_objects_are_keyed_namespace_slash_name() -> None:
    assert meta_namespace_key(wfe("a", namespace="team")) == "team/a"
    assert split_meta_namespace_key("team/a") == ("team", "a")


def test_cluster_scoped_objects_are_keyed_by_name_alone() -> None:
    node = {"metadata": {"name": "worker-1"}}
    assert meta_namespace_key(node) == "worker-1"
    assert split_meta_namespace_key("worker-1") == ("", "worker-1")


def test_an_object_without_a_name_has_no_key() -> None:
    with pytest.raises(ValueError):
        meta_namespace_key({"metadata": {"namespace": "ns"}})


# --- reads and writes --------------------------------------------------------------------------


def test_added_objects_can_be_read_by_object_key_and_listed() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))
    store.add(wfe("b", "t2", namespace="other"))

    assert store.get("ns/a") == wfe("a", "t1")
    assert store.get(wfe("b", namespace="other")) == wfe("b", "t2", namespace="other")
    assert store.get_by_key("ns/missing") is None
    assert sorted(store.list_keys()) == ["ns/a", "other/b"]
    assert sorted(o["metadata"]["name"] for o in store.list()) == ["a", "b"]
    assert len(store) == 2
    assert "ns/a" in store


def test_add_reports_an_add_for_a_new_key_and_an_update_with_the_old_state_otherwise() -> None:
    store = new_indexer()
    first = store.add(wfe("a", rv="1"))
    second = store.add(wfe("a", rv="2"))

    assert first.type is ChangeType.ADDED and first.old is None
    assert second.type is ChangeType.UPDATED
    assert second.old is not None and second.old["metadata"]["resourceVersion"] == "1"
    assert second.obj["metadata"]["resourceVersion"] == "2"


def test_delete_removes_the_object_and_reports_the_state_it_held() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1", rv="1"))
    change = store.delete(wfe("a", "t1", rv="2"))

    assert change.type is ChangeType.DELETED
    assert change.obj["metadata"]["resourceVersion"] == "2"
    assert change.old is not None and change.old["metadata"]["resourceVersion"] == "1"
    assert store.get("ns/a") is None


def test_deleting_an_unknown_object_still_reports_a_delete() -> None:
    change = new_indexer().delete(wfe("ghost"))
    assert change.type is ChangeType.DELETED and change.old is None


# --- indexes -----------------------------------------------------------------------------------


def test_by_index_finds_every_object_with_the_value_in_key_order() -> None:
    store = new_indexer()
    store.add(wfe("b", "payment/deployment/api"))
    store.add(wfe("a", "payment/deployment/api", namespace="other"))
    store.add(wfe("c", "node/worker-1"))

    found = store.by_index(TARGET, "payment/deployment/api")

    assert [meta_namespace_key(o) for o in found] == ["ns/b", "other/a"]
    assert store.index_keys(TARGET, "node/worker-1") == ["ns/c"]
    assert store.by_index(TARGET, "nothing/here") == []


def test_an_update_moves_the_object_from_its_old_index_value_to_the_new_one() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))
    store.update(wfe("a", "t2"))

    assert store.index_keys(TARGET, "t1") == []
    assert store.index_keys(TARGET, "t2") == ["ns/a"]


def test_an_update_that_drops_the_field_unindexes_the_object() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))
    store.update(wfe("a"))

    assert store.index_keys(TARGET, "t1") == []
    assert store.get("ns/a") == wfe("a")


def test_a_delete_removes_the_object_from_every_index() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))
    store.add(wfe("b", "t1"))
    store.delete(wfe("a"))

    assert store.index_keys(TARGET, "t1") == ["ns/b"]
    assert store.index_keys(NAMESPACE_INDEX, "ns") == ["ns/b"]


def test_the_namespace_index_groups_objects_by_namespace() -> None:
    store = new_indexer()
    store.add(wfe("a", namespace="one"))
    store.add(wfe("b", namespace="two"))
    store.add(wfe("c", namespace="one"))

    assert store.index_keys(NAMESPACE_INDEX, "one") == ["one/a", "one/c"]


def test_a_list_valued_field_indexes_the_object_under_each_element_once() -> None:
    store = Indexer({"finalizers": index_by_field("metadata.finalizers")})
    obj = {"metadata": {"name": "a", "namespace": "ns", "finalizers": ["x", "y", "x"]}}
    store.add(obj)

    assert store.index_keys("finalizers", "x") == ["ns/a"]
    assert store.index_keys("finalizers", "y") == ["ns/a"]


def test_index_by_field_reads_dotted_paths_and_ignores_what_is_not_a_value() -> None:
    extract = index_by_field("spec.target.name")
    assert extract({"spec": {"target": {"name": "api"}}}) == ["api"]
    assert extract({"spec": {"target": {"name": 3}}}) == ["3"]
    assert extract({"spec": {"target": {"name": True}}}) == ["true"]
    assert extract({"spec": {"target": {"name": None}}}) == []
    assert extract({"spec": {"target": {"name": {"nested": 1}}}}) == []
    assert extract({"spec": {"target": "not-a-mapping"}}) == []
    assert extract({}) == []


def test_index_by_field_rejects_an_empty_path_segment() -> None:
    with pytest.raises(ValueError):
        index_by_field("spec..target")


def test_asking_for_an_unknown_index_is_an_error() -> None:
    with pytest.raises(KeyError):
        new_indexer().by_index("field:nope", "x")


def test_indexers_added_later_index_the_objects_already_stored() -> None:
    store = Indexer()
    store.add(wfe("a", "t1"))
    store.add_indexers({TARGET: index_by_field("spec.targetResource")})

    assert store.index_keys(TARGET, "t1") == ["ns/a"]


def test_an_index_name_cannot_be_registered_twice() -> None:
    store = new_indexer()
    with pytest.raises(ValueError, match="already registered"):
        store.add_indexers({TARGET: index_by_field("spec.other")})


def test_an_index_function_that_raises_leaves_the_object_stored_but_unindexed() -> None:
    def broken(obj: dict[str, Any]) -> list[str]:
        raise RuntimeError("bug in the extractor")

    store = Indexer({"broken": broken, NAMESPACE_INDEX: namespace_index})
    store.add(wfe("a"))

    assert store.get("ns/a") is not None
    assert store.index_keys("broken", "anything") == []
    assert store.index_keys(NAMESPACE_INDEX, "ns") == ["ns/a"]


# --- replace (relist) --------------------------------------------------------------------------


def test_replace_reports_adds_updates_and_synthetic_deletes_for_vanished_objects() -> None:
    store = new_indexer()
    store.add(wfe("kept", "t1", rv="1"))
    store.add(wfe("gone", "t1", rv="2"))

    changes = store.replace([wfe("kept", "t1", rv="1"), wfe("new", "t2", rv="5")], "10")

    by_name = {c.obj["metadata"]["name"]: c for c in changes}
    assert by_name["new"].type is ChangeType.ADDED
    # a relisted object is an update even when nothing changed (client-go's relist semantics)
    assert by_name["kept"].type is ChangeType.UPDATED
    assert by_name["kept"].old == wfe("kept", "t1", rv="1")
    gone = by_name["gone"]
    assert gone.type is ChangeType.DELETED
    assert gone.final_state_unknown
    assert gone.obj == wfe("gone", "t1", rv="2")  # the last state the store held
    assert not by_name["kept"].final_state_unknown and not by_name["new"].final_state_unknown


def test_replace_leaves_exactly_the_listed_objects_and_rebuilds_indexes() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))
    store.add(wfe("b", "t1"))

    store.replace([wfe("b", "t2"), wfe("c", "t1")], "7")

    assert sorted(store.list_keys()) == ["ns/b", "ns/c"]
    assert store.index_keys(TARGET, "t1") == ["ns/c"]
    assert store.index_keys(TARGET, "t2") == ["ns/b"]
    assert store.resource_version == "7"


def test_replace_with_an_empty_list_deletes_everything() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))

    changes = store.replace([], "9")

    assert [(c.type, c.final_state_unknown) for c in changes] == [(ChangeType.DELETED, True)]
    assert store.list() == []
    assert store.index_keys(TARGET, "t1") == []


# --- copy safety -------------------------------------------------------------------------------


def test_editing_an_object_read_from_the_store_does_not_change_the_store() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))

    store.get("ns/a")["status"]["phase"] = "Running"  # type: ignore[index]
    store.list()[0]["metadata"]["name"] = "renamed"
    store.by_index(TARGET, "t1")[0]["spec"]["targetResource"] = "t9"

    assert store.get("ns/a") == wfe("a", "t1")
    assert store.index_keys(TARGET, "t1") == ["ns/a"]


def test_editing_an_object_after_adding_it_does_not_change_the_store() -> None:
    store = new_indexer()
    obj = wfe("a", "t1")
    change = store.add(obj)

    obj["status"]["phase"] = "Running"
    change.obj["spec"]["targetResource"] = "t9"
    listed = [wfe("b")]
    store.replace(listed, "2")
    listed[0]["status"]["phase"] = "Failed"

    assert store.get("ns/b") == wfe("b")


def test_the_old_state_reported_by_an_update_is_not_the_stores_copy() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1", rv="1"))
    change = store.update(wfe("a", "t1", rv="2"))
    assert change.old is not None

    change.old["status"]["phase"] = "Corrupted"
    change.obj["status"]["phase"] = "Corrupted"

    assert store.get("ns/a") == wfe("a", "t1", rv="2")


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_writers_and_readers_leave_indexes_consistent_with_the_objects() -> None:
    store = new_indexer()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(300):
                name = f"obj-{i % 20}"
                store.update(wfe(name, f"t{(i + worker) % 5}", rv=str(i)))
                if i % 7 == 0:
                    store.delete(wfe(name))
        except BaseException as err:
            errors.append(err)

    def reader() -> None:
        try:
            for _ in range(300):
                for obj in store.by_index(TARGET, "t1"):
                    assert obj["spec"]["targetResource"] == "t1"
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    for value in (f"t{i}" for i in range(5)):
        expected = sorted(
            meta_namespace_key(o) for o in store.list() if o["spec"]["targetResource"] == value
        )
        assert store.index_keys(TARGET, value) == expected


def test_counts_and_peeks_read_the_store_without_copying_an_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wfe.runtime.cache import store as store_module

    indexer = Indexer({"phase": index_by_field("status.phase")})
    for name, phase in (("a", "Running"), ("b", "Running"), ("c", "Completed")):
        indexer.add({"metadata": {"name": name, "namespace": "ns"}, "status": {"phase": phase}})

    def no_copies(obj: object) -> object:
        raise AssertionError("an object was copied")

    monkeypatch.setattr(store_module, "copy_object", no_copies)

    assert indexer.index_count("phase", "Running") == 2
    assert indexer.index_count("phase", "Failed") == 0
    assert indexer.peek("ns/c", lambda o: o["status"]["phase"]) == "Completed"
    assert indexer.peek("ns/zz", lambda o: o["status"]["phase"]) is None


# --- listings (a full list assembled beside the store) -----------------------------------------


def test_a_listing_changes_nothing_until_it_replaces_the_store() -> None:
    store = new_indexer()
    store.add(wfe("a", "t1"))

    listing = store.new_listing()
    listing.add(wfe("b", "t2"))

    assert store.list_keys() == ["ns/a"]  # a list that fails midway is simply dropped
    store.replace_listing(listing, "3")
    assert store.list_keys() == ["ns/b"]
    assert store.index_keys(TARGET, "t2") == ["ns/b"]
    assert store.index_keys(TARGET, "t1") == []


def test_an_object_listed_twice_is_stored_and_indexed_as_its_last_state() -> None:
    store = new_indexer()
    listing = store.new_listing()
    listing.add(wfe("a", "t1", rv="1"))
    listing.add(wfe("a", "t2", rv="2"))

    store.replace_listing(listing, "3")

    assert store.index_keys(TARGET, "t1") == []
    assert store.index_keys(TARGET, "t2") == ["ns/a"]


def test_the_adds_of_a_first_list_hand_each_reader_its_own_copy() -> None:
    store = new_indexer()
    listing = store.new_listing(transform=lambda obj: {**obj, "transformed": True})
    listing.add(wfe("a", "t1"))

    [change] = store.replace_listing(listing, "3")
    first = change.obj
    first["status"]["phase"] = "Corrupted"  # one handler misbehaving

    assert change.type is ChangeType.ADDED
    assert change.obj == {**wfe("a", "t1"), "transformed": True}
    assert store.get("ns/a") == change.obj


def test_readers_never_wait_for_a_writer_computing_its_indexes() -> None:
    # The reflector's thread decodes and indexes each change; a reconcile reading the cache
    # meanwhile must get the state before the change at once, not queue behind that work.
    entered, release = threading.Event(), threading.Event()

    def slow_target(obj: dict[str, Any]) -> list[str]:
        if obj["status"].get("phase") == "Running":
            entered.set()
            assert release.wait(5)
        return [obj["spec"]["targetResource"]]

    store = Indexer({TARGET: slow_target})
    store.add(wfe("a", "t1"))
    running = wfe("a", "t1")
    running["status"]["phase"] = "Running"
    writer = threading.Thread(target=store.update, args=(running,))
    writer.start()
    try:
        assert entered.wait(5)
        read: list[Any] = []
        reader = threading.Thread(target=lambda: read.append(store.get("ns/a")))
        reader.start()
        reader.join(2)
        assert read, "a read waited for the writer's index function"
        assert read[0]["status"].get("phase") != "Running"
        assert store.index_keys(TARGET, "t1") == ["ns/a"]
    finally:
        release.set()
        writer.join(5)
    stored = store.get("ns/a")
    assert stored is not None and stored["status"]["phase"] == "Running"


PHASE = "phase"


def phase_facts(obj: dict[str, Any]) -> tuple[str, str] | None:
    """A projection keeping (name, phase) of the objects that are not Pending."""
    phase = obj["status"]["phase"]
    return None if phase == "Pending" else (obj["metadata"]["name"], phase)


def projecting_indexer() -> Indexer:
    indexer = new_indexer()
    indexer.add_projections({PHASE: phase_facts})
    return indexer


def with_phase(obj: dict[str, Any], phase: str) -> dict[str, Any]:
    obj["status"]["phase"] = phase
    return obj


def test_a_projection_follows_every_change_and_keeps_nothing_for_none() -> None:
    indexer = projecting_indexer()
    indexer.add(wfe("b", "t1"))  # Pending: nothing kept
    indexer.add(with_phase(wfe("a", "t1"), "Running"))
    assert indexer.projected_by_index(TARGET, "t1", PHASE) == [("a", "Running")]
    indexer.update(with_phase(wfe("b", "t1", rv="2"), "Completed"))
    indexer.update(with_phase(wfe("a", "t1", rv="2"), "Completed"))
    assert indexer.projected_by_index(TARGET, "t1", PHASE) == [
        ("a", "Completed"),
        ("b", "Completed"),
    ]
    indexer.update(wfe("a", "t1", rv="3"))  # back to Pending: its value is dropped
    indexer.delete(wfe("b", "t1"))
    assert indexer.projected_by_index(TARGET, "t1", PHASE) == []


def test_a_projection_is_read_through_the_index_it_is_asked_with() -> None:
    indexer = projecting_indexer()
    indexer.add(with_phase(wfe("a", "t1"), "Running"))
    indexer.add(with_phase(wfe("b", "t2"), "Running"))
    indexer.update(with_phase(wfe("a", "t2", rv="2"), "Running"))  # moved to another target
    assert indexer.projected_by_index(TARGET, "t1", PHASE) == []
    assert indexer.projected_by_index(TARGET, "t2", PHASE) == [("a", "Running"), ("b", "Running")]


def test_a_listing_carries_projections_into_the_store() -> None:
    indexer = projecting_indexer()
    indexer.add(with_phase(wfe("gone", "t1"), "Running"))
    listing = indexer.new_listing()
    listing.add(with_phase(wfe("a", "t1"), "Failed"))
    listing.add(with_phase(wfe("dropped", "t1"), "Running"))
    listing.discard(wfe("dropped", "t1"))  # deleted before the list ended
    assert indexer.projected_by_index(TARGET, "t1", PHASE) == [("gone", "Running")]
    indexer.replace_listing(listing, "10")
    assert indexer.projected_by_index(TARGET, "t1", PHASE) == [("a", "Failed")]


def test_projections_added_later_project_the_objects_already_stored() -> None:
    indexer = new_indexer()
    indexer.add(with_phase(wfe("a", "t1"), "Running"))
    indexer.add_projections({PHASE: phase_facts})
    assert indexer.projected_by_index(TARGET, "t1", PHASE) == [("a", "Running")]
    with pytest.raises(ValueError, match="already registered"):
        indexer.add_projections({PHASE: phase_facts})


def test_a_projection_that_raises_leaves_the_object_stored_without_a_value() -> None:
    indexer = new_indexer()

    def broken(obj: dict[str, Any]) -> str:
        return str(obj["status"]["missing"])

    indexer.add_projections({"broken": broken})
    indexer.add(wfe("a", "t1"))
    assert indexer.get_by_key("ns/a") is not None
    assert indexer.projected_by_index(TARGET, "t1", "broken") == []
    with pytest.raises(KeyError, match="no projection named 'nope'"):
        indexer.projected_by_index(TARGET, "t1", "nope")


def test_reading_a_projection_decodes_no_object(monkeypatch: pytest.MonkeyPatch) -> None:
    indexer = projecting_indexer()
    for index in range(20):
        indexer.add(with_phase(wfe(f"w{index:02d}", "t1"), "Completed"))

    def no_decoding(encoded: bytes) -> dict[str, Any]:
        raise AssertionError("a projected read decoded a stored object")

    monkeypatch.setattr(store_module, "decode_object", no_decoding)
    assert len(indexer.projected_by_index(TARGET, "t1", PHASE)) == 20
