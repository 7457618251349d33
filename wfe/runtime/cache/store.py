"""The thread-safe object store with named indexes behind every informer (client-go: cache.Indexer).

Storage: each object is kept as its compact JSON (``bytes``), not as the tree of dicts and lists
the decoder made. A cached WorkflowExecution with its six conditions is ~2.6 KB of JSON against
~18 KiB as Python objects, so 10,000 of them fit in ~30 MiB instead of ~175 MiB, and the garbage
collector has a few thousand objects to walk instead of millions. Index values are computed once,
from the decoded object, when it is stored.

Copy policy: every read decodes a fresh dict, so a caller that edits what it got (to build an
update, say) cannot corrupt the cache or another reader's view (controller-runtime's cache reader
copies too). Decoding a WorkflowExecution with orjson costs about what the pickle copy that reads
used to make did. Writes encode what they are given and keep nothing of it; the informer passes
the objects it has just decoded on to its event handlers in the :class:`Change`, which must not
modify them (client-go's contract for informer handlers). Hot queries that need no object (``list_keys``, ``index_keys``, ``len``,
``in``) decode nothing.

Projections: a hot read that needs a few facts of many objects (the lock check reads the phase and
times of every past execution on a target) registers a :data:`ProjectFunc`. Its value is computed
once per stored version, beside the index values, and read by :meth:`Indexer.projected_by_index`
without decoding anything. A projection returns None for an object the read never needs, which
then costs no memory.

Every mutation returns the :class:`Change` it made, which the informer turns into notifications.
"""

from __future__ import annotations

import builtins
import pickle
import threading
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

import structlog

from wfe.runtime.cache.index import IndexFunc, Object, meta_namespace_key
from wfe.runtime.client import codec

log = structlog.get_logger(__name__)

Predicate = Callable[[Object], bool]
ProjectFunc = Callable[[Object], Any]
"""The facts a hot read needs of an object (immutable), or None when it needs none."""
T = TypeVar("T")


def copy_object(obj: Object) -> Object:
    """A deep copy of a JSON-like object, several times faster than ``copy.deepcopy``."""
    copied: Object = pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
    return copied


class ChangeType(StrEnum):
    ADDED = "Added"
    UPDATED = "Updated"
    DELETED = "Deleted"


class Change:
    """One change applied to the store. ``obj`` is the writer's own object and ``old`` a fresh
    decode of what the store held; event handlers share both, so they read them and never modify
    them (client-go's contract).

    ``obj`` is the new state, or for a delete the final state the server sent. A delete found by a
    relist (the object vanished while the watch was down) has ``final_state_unknown`` set and
    carries the last state the store held (client-go: ``DeletedFinalStateUnknown``). An update
    with ``resync`` set changed nothing: a relist saw the object at the resourceVersion the store
    already held, or a periodic resync re-delivers it (client-go: a Sync delta).

    A change made from stored JSON (a list's adds, a resync, a late handler's snapshot) keeps only
    the store's own bytes and decodes ``obj`` each time it is read: 10,000 listed objects queued
    for the handlers then cost nothing beyond the store, instead of 10,000 decoded trees at once.
    """

    __slots__ = ("_encoded", "_obj", "final_state_unknown", "old", "resync", "type")

    def __init__(
        self,
        type: ChangeType,
        obj: Object | None = None,
        old: Object | None = None,
        final_state_unknown: bool = False,
        resync: bool = False,
        *,
        encoded: bytes | None = None,
    ):
        if (obj is None) == (encoded is None):
            raise ValueError("a change carries either the object or its stored JSON")
        self.type = type
        self._obj = obj
        self._encoded = encoded
        self.old = old
        self.final_state_unknown = final_state_unknown
        self.resync = resync

    @property
    def obj(self) -> Object:
        if self._obj is not None:
            return self._obj
        assert self._encoded is not None
        return decode_object(self._encoded)

    def __repr__(self) -> str:
        key = meta_namespace_key(self.obj)
        return f"<Change {self.type.value} {key}{' resync' if self.resync else ''}>"


class Listing:
    """A full list assembled beside the store, page by page, then swapped in whole by
    :meth:`Indexer.replace_listing`: objects are kept as their stored JSON from the moment they
    are added, so a list of 10,000 objects never exists as decoded trees all at once. A listing
    that is dropped (the list failed midway) leaves the store untouched."""

    def __init__(
        self,
        key_func: Callable[[Object], str],
        indexers: Mapping[str, IndexFunc],
        transform: Callable[[Object], Object] | None = None,
        projectors: Mapping[str, ProjectFunc] | None = None,
    ):
        self._key_func = key_func
        self._indexers = indexers
        self._projectors = dict(projectors or {})
        self._transform = transform
        self.items: dict[str, bytes] = {}
        self.indices: dict[str, dict[str, set[str]]] = {name: {} for name in indexers}
        self.projections: dict[str, dict[str, Any]] = {name: {} for name in self._projectors}

    def add(self, obj: Object) -> None:
        """Adds a listed object (transformed first, when the listing has a transform)."""
        if self._transform is not None:
            obj = self._transform(obj)
        key = self._key_func(obj)
        if key in self.items:
            _discard_index_entries(
                self.indices, self._indexers, key, decode_object(self.items[key])
            )
        self.items[key] = encode_object(obj)
        for name, func in self._indexers.items():
            for value in _index_values(name, func, key, obj):
                self.indices[name].setdefault(value, set()).add(key)
        _set_projections(self.projections, _projected(self._projectors, key, obj), key)

    def discard(self, obj: Object) -> None:
        """Removes a listed object again (a streamed list may report a delete before its end)."""
        key = self._key_func(obj)
        encoded = self.items.pop(key, None)
        if encoded is not None:
            _discard_index_entries(self.indices, self._indexers, key, decode_object(encoded))
            for projection in self.projections.values():
                projection.pop(key, None)

    def __len__(self) -> int:
        return len(self.items)


class Indexer:
    """Objects keyed ``namespace/name`` plus named indexes from index value to keys."""

    def __init__(
        self,
        indexers: Mapping[str, IndexFunc] | None = None,
        *,
        key_func: Callable[[Object], str] = meta_namespace_key,
    ):
        self._key_func = key_func
        # Readers take only ``_lock``, and only to look up keys and bytes. Writers (in practice the
        # one reflector thread) serialise on ``_write_lock``, decode and compute index values
        # outside ``_lock``, and hold it just to swap entries: a reconcile reading the cache never
        # waits for a decode, nor hands the interpreter over while it does.
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._items: dict[str, bytes] = {}  # key -> the object's compact JSON
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}
        self._projectors: dict[str, ProjectFunc] = {}
        self._projections: dict[str, dict[str, Any]] = {}  # name -> key -> value (never None)
        self._resource_version = ""

    # --- writes ----------------------------------------------------------------------------------

    def add(self, obj: Object) -> Change:
        """Stores ``obj`` (its JSON: later changes to ``obj`` do not reach the store); an existing
        object under the key is replaced."""
        return self._upsert(obj)

    def update(self, obj: Object) -> Change:
        """Same as :meth:`add`: the store keeps the latest state whatever it knew before."""
        return self._upsert(obj)

    def delete(self, obj: Object) -> Change:
        """Removes the object under ``obj``'s key; ``old`` is what the store held, if anything."""
        key = self._key_func(obj)
        with self._write_lock:
            encoded = self._items.get(key)
            old = None if encoded is None else decode_object(encoded)
            changes = [] if old is None else self._index_changes(key, old, None)
            with self._lock:
                self._items.pop(key, None)
                self._apply_index_changes(key, changes)
                for projection in self._projections.values():
                    projection.pop(key, None)
        return Change(ChangeType.DELETED, obj, old)

    def replace(self, objs: Iterable[Object], resource_version: str) -> list[Change]:
        """Makes the store hold exactly ``objs`` (a full list at ``resource_version``; stored as
        for :meth:`add`); see :meth:`replace_listing`."""
        listing = self.new_listing()
        for obj in objs:
            listing.add(obj)
        return self.replace_listing(listing, resource_version)

    def new_listing(self, transform: Callable[[Object], Object] | None = None) -> Listing:
        """An empty :class:`Listing` keyed and indexed as this store is."""
        with self._lock:
            return Listing(self._key_func, dict(self._indexers), transform, self._projectors)

    def replace_listing(self, listing: Listing, resource_version: str) -> list[Change]:
        """Makes the store hold exactly what ``listing`` holds (a full list at
        ``resource_version``).

        Returns an add or update for every listed object followed by a synthetic delete for every
        object that vanished. An update whose resourceVersion did not change is a ``resync``. The
        adds carry the stored JSON, not decoded objects (see :class:`Change`).
        """
        with self._write_lock, self._lock:
            if set(listing.indices) != set(self._indexers) or set(listing.projections) != set(
                self._projectors
            ):
                raise RuntimeError("the store's indexes changed while a list was assembled")
            previous = self._items
            self._items = listing.items
            self._indices = listing.indices
            self._projections = listing.projections
            self._resource_version = resource_version
        changes: list[Change] = []
        for key, encoded in listing.items.items():
            before = previous.get(key)
            if before is None:
                changes.append(Change(ChangeType.ADDED, encoded=encoded))
                continue
            # a relist (rare): both states decoded, to tell a resync from a change
            obj, old = decode_object(encoded), decode_object(before)
            unchanged = _resource_version(obj) == _resource_version(old) != ""
            changes.append(Change(ChangeType.UPDATED, obj, old, resync=unchanged))
        for key, encoded in previous.items():
            if key not in listing.items:
                old = decode_object(encoded)
                changes.append(Change(ChangeType.DELETED, old, old, final_state_unknown=True))
        return changes

    def stored_changes(self, change_type: ChangeType, *, resync: bool = False) -> list[Change]:
        """A change of ``change_type`` for every stored object, each carrying its stored JSON (a
        snapshot for a late handler, or a periodic resync)."""
        with self._lock:
            encoded = list(self._items.values())
        return [Change(change_type, encoded=each, resync=resync) for each in encoded]

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Adds named indexes and indexes the objects already stored; a taken name is an error."""
        with self._write_lock, self._lock:
            _refuse_taken("indexers", indexers, self._indexers)
            for name, func in indexers.items():
                self._indexers[name] = func
                self._indices[name] = {}
                for key, encoded in self._items.items():
                    for value in _index_values(name, func, key, decode_object(encoded)):
                        self._indices[name].setdefault(value, set()).add(key)

    def add_projections(self, projectors: Mapping[str, ProjectFunc]) -> None:
        """Adds named projections and projects the objects already stored; a taken name is an
        error."""
        with self._write_lock, self._lock:
            _refuse_taken("projections", projectors, self._projectors)
            for name, func in projectors.items():
                self._projectors[name] = func
                self._projections[name] = {}
                for key, encoded in self._items.items():
                    values = _projected({name: func}, key, decode_object(encoded))
                    _set_projections(self._projections, values, key)

    # --- reads (each a fresh dict) ---------------------------------------------------------------

    def get(self, obj_or_key: Object | str) -> Object | None:
        """The stored object with the key of ``obj_or_key`` (an object or a key), or None."""
        key = obj_or_key if isinstance(obj_or_key, str) else self._key_func(obj_or_key)
        return self.get_by_key(key)

    def get_by_key(self, key: str) -> Object | None:
        with self._lock:
            encoded = self._items.get(key)
        return None if encoded is None else decode_object(encoded)

    def list(self, *, where: Predicate | None = None) -> list[Object]:
        """Every stored object (or those ``where`` accepts; it must not modify what it is shown)."""
        with self._lock:
            encoded = list(self._items.values())
        decoded = (decode_object(each) for each in encoded)
        return [obj for obj in decoded if where is None or where(obj)]

    def by_index(
        self, index_name: str, value: str, *, where: Predicate | None = None
    ) -> builtins.list[Object]:
        """The objects indexed under ``value`` in ``index_name``, in key order."""
        with self._lock:
            keys = sorted(self._index(index_name).get(value, ()))
            encoded = [self._items[key] for key in keys]
        decoded = (decode_object(each) for each in encoded)
        return [obj for obj in decoded if where is None or where(obj)]

    def peek(self, key: str, view: Callable[[Object], T]) -> T | None:
        """``view`` of the stored object under ``key`` (None when absent), outside the lock."""
        with self._lock:
            encoded = self._items.get(key)
        return None if encoded is None else view(decode_object(encoded))

    # --- reads (nothing decoded) -----------------------------------------------------------------

    def index_count(self, index_name: str, value: str) -> int:
        """How many objects are indexed under ``value`` in ``index_name``."""
        with self._lock:
            return len(self._index(index_name).get(value, ()))

    def projected_by_index(
        self, index_name: str, value: str, projection: str
    ) -> builtins.list[Any]:
        """The ``projection`` values of the objects indexed under ``value`` in ``index_name``, in
        key order, leaving out the objects it has no value for. Nothing is decoded: the values
        were computed when the objects were stored, and are shared, so they must be immutable."""
        with self._lock:
            keys = sorted(self._index(index_name).get(value, ()))
            try:
                projected = self._projections[projection]
            except KeyError:
                raise KeyError(f"no projection named {projection!r}") from None
            return [projected[key] for key in keys if key in projected]

    def list_keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        """The keys of the objects indexed under ``value`` in ``index_name``, sorted."""
        with self._lock:
            return sorted(self._index(index_name).get(value, ()))

    @property
    def resource_version(self) -> str:
        """The resourceVersion of the last full list passed to :meth:`replace`."""
        return self._resource_version

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    # --- internals -------------------------------------------------------------------------------

    def _upsert(self, obj: Object) -> Change:
        key = self._key_func(obj)
        encoded = encode_object(obj)
        with self._write_lock:
            previous = self._items.get(key)
            old = None if previous is None else decode_object(previous)
            changes = self._index_changes(key, old, obj)
            projected = _projected(self._projectors, key, obj)
            with self._lock:
                self._items[key] = encoded
                self._apply_index_changes(key, changes)
                _set_projections(self._projections, projected, key)
        if old is None:
            return Change(ChangeType.ADDED, obj)
        return Change(ChangeType.UPDATED, obj, old)

    def _index(self, index_name: str) -> dict[str, set[str]]:
        try:
            return self._indices[index_name]
        except KeyError:
            raise KeyError(f"no index named {index_name!r}") from None

    def _index_changes(
        self, key: str, old: Object | None, new: Object | None
    ) -> builtins.list[tuple[str, builtins.list[str], builtins.list[str]]]:
        """Per index whose values differ: (name, old values, new values)."""
        changes = []
        for name, func in self._indexers.items():
            old_values = _index_values(name, func, key, old) if old is not None else []
            new_values = _index_values(name, func, key, new) if new is not None else []
            if old_values != new_values:
                changes.append((name, old_values, new_values))
        return changes

    def _apply_index_changes(
        self, key: str, changes: builtins.list[tuple[str, builtins.list[str], builtins.list[str]]]
    ) -> None:
        for name, old_values, new_values in changes:
            index = self._indices[name]
            _discard_keys(index, old_values, key)
            for value in new_values:
                index.setdefault(value, set()).add(key)


def _refuse_taken(what: str, new: Mapping[str, object], registered: Mapping[str, object]) -> None:
    taken = sorted(set(new) & set(registered))
    if taken:
        raise ValueError(f"{what} already registered: {', '.join(taken)}")


def _discard_keys(index: dict[str, set[str]], values: Iterable[str], key: str) -> None:
    for value in values:
        keys = index.get(value)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del index[value]


def _discard_index_entries(
    indices: dict[str, dict[str, set[str]]],
    indexers: Mapping[str, IndexFunc],
    key: str,
    old: Object,
) -> None:
    for name, func in indexers.items():
        _discard_keys(indices[name], _index_values(name, func, key, old), key)


def encode_object(obj: Object) -> bytes:
    """``obj`` as the compact JSON the store keeps: for a WorkflowExecution ~2.6 KB instead of the
    ~18 KiB its decoded tree takes. :func:`decode_object` gives a fresh, private tree back."""
    # orjson hands back its working buffer, which keeps its over-allocation (8 KB for a 3 KB
    # WorkflowExecution); a copy of exactly the JSON's size is what stays in the store
    return memoryview(codec.dumps(obj)).tobytes()


def decode_object(encoded: bytes) -> Object:
    decoded: Object = codec.loads(encoded)
    return decoded


def _resource_version(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _index_values(index_name: str, func: IndexFunc, key: str, obj: Object) -> list[str]:
    # An index function that raises is a bug in its author's code; the object is still stored
    # (the cache must mirror the server) but left out of that one index.
    try:
        return list(dict.fromkeys(func(obj)))
    except Exception:
        log.exception("index function failed", index=index_name, key=key)
        return []


def _projected(projectors: Mapping[str, ProjectFunc], key: str, obj: Object) -> dict[str, Any]:
    """Each projection's value for ``obj`` (None: none). A projection that raises is a bug in its
    author's code: the object is still stored, without that projection's value."""
    values = {}
    for name, func in projectors.items():
        try:
            values[name] = func(obj)
        except Exception:
            log.exception("projection failed", projection=name, key=key)
            values[name] = None
    return values


def _set_projections(
    projections: dict[str, dict[str, Any]], values: Mapping[str, Any], key: str
) -> None:
    for name, value in values.items():
        if value is None:
            projections[name].pop(key, None)
        else:
            projections[name][key] = value
