"""The controller's own status writes that the cache has not shown yet.

A reconcile reads the WorkflowExecution from the informer cache, which lags the API server: right
after the controller wrote ``Running``, an event of another object (the PipelineRun's DELETE, say)
can start a reconcile that still reads ``Pending``. Deciding on that would start the execution
again: a second remediation run. The status write's optimistic lock cannot stop it, because the
execution is created before the status is written.

So the writer remembers, per object, the version it replaced and the object as stored. A reconcile
whose cached copy is one of the versions the controller itself has already replaced decides on the
stored object instead: it is newer, and nobody else can have written in between (the write would
have met a conflict). Once the cache shows any other version, the memory is dropped: the cache has
caught up (our own write's watch event starts that very reconcile), or someone else wrote and the
cache is the better source again. ReplicaSet's "expectations" do the same for pods it created.

The object is kept as its compact JSON (as the informer's store keeps objects), not as the decoded
tree: in a burst every workflow written waits here until its own write's event comes back through
the (long) work queue, and 300 decoded WorkflowExecutions held that way were ~5 MiB of the
controller's peak RSS (docs/performance.md, "Peak RSS"). Decoding it costs what the copy handed
out used to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from wfe.runtime.cache import decode_object, encode_object

Object = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Written:
    uid: str
    version: str  # the stored object's resourceVersion
    replaced: frozenset[str]  # resourceVersions our own writes made obsolete
    stored: bytes  # the object as stored, as compact JSON


class OwnWrites:
    """Thread-safe; one per reconciler. Holds one entry per object written and not yet seen back
    through the cache (a handful in steady state: the watch brings writes back within
    milliseconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[tuple[str, str], _Written] = {}

    def record(self, before: Object, stored: Object) -> None:
        """``stored`` is what the API server returned for a write made on ``before``."""
        key, uid = _key(stored), _meta(stored).get("uid", "")
        before_version = _meta(before).get("resourceVersion", "")
        version = _meta(stored).get("resourceVersion", "")
        encoded = encode_object(stored)
        with self._lock:
            previous = self._written.get(key)
            replaced = {before_version}
            if previous is not None and previous.uid == uid and previous.version == before_version:
                replaced |= previous.replaced  # a chain of writes the cache has not seen yet
            self._written[key] = _Written(uid, version, frozenset(replaced), encoded)

    def freshest(self, cached: Object) -> Object:
        """``cached``, or a copy of the controller's own later write when the cache is behind it."""
        key, meta = _key(cached), _meta(cached)
        with self._lock:
            written = self._written.get(key)
            if written is None:
                return cached
            if written.uid == meta.get("uid") and meta.get("resourceVersion") in written.replaced:
                encoded = written.stored
            else:
                del self._written[key]
                return cached
        return decode_object(encoded)  # outside the lock: a private copy for the caller

    def forget(self, namespace: str, name: str) -> None:
        """The object is gone from the cache: nothing to remember for it."""
        with self._lock:
            self._written.pop((namespace, name), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._written)


def _meta(obj: Object) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _key(obj: Object) -> tuple[str, str]:
    meta = _meta(obj)
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))
