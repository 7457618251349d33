"""Audit spool: events wait here, oldest first, until the sink accepts them. ``FileSpool`` makes each
event durable before ``put`` returns and survives a crash; ``MemorySpool`` is the same without a disk."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import structlog

from wfe.audit import metrics
from wfe.audit.events import AuditEvent

DEFAULT_MAX_EVENTS: Final = 10_000

_SUFFIX: Final = ".json"
_TMP_SUFFIX: Final = ".tmp"
_CORRUPT_SUFFIX: Final = ".corrupt"
_LOCK_NAME: Final = ".lock"

log = structlog.get_logger(__name__)


class Spool(ABC):
    """Bounded, ordered, idempotent set of pending events keyed by ``event_id``. Thread-safe.

    When full, ``put`` evicts the oldest event (logged as an error and counted as ``dropped``).
    """

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {max_events}")
        self.max_events = max_events
        self._lock = threading.Lock()
        self._order: OrderedDict[str, None] = OrderedDict()
        self._closed = False

    def put(self, event: AuditEvent) -> bool:
        """Store ``event`` durably; False (and nothing written) when its id is already pending.

        Raises ``OSError`` (or ``ValueError`` for an id a file cannot be named by) when the event
        could not be stored, ``RuntimeError`` after ``close``.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit spool is closed")
            if event.event_id in self._order:
                return False
            self._write(event)
            self._order[event.event_id] = None
            self._evict_overflow()
            return True

    def take(self, limit: int) -> list[AuditEvent]:
        """Up to ``limit`` pending events, oldest first. They stay pending until ``remove``."""
        batch: list[AuditEvent] = []
        with self._lock:
            for event_id in list(self._order):
                if len(batch) >= limit:
                    break
                event = self._read(event_id)
                if event is None:
                    del self._order[event_id]
                else:
                    batch.append(event)
        return batch

    def remove(self, event_ids: Iterable[str]) -> None:
        """Forget delivered (or rejected) events; unknown ids are ignored."""
        with self._lock:
            for event_id in event_ids:
                if event_id in self._order:
                    del self._order[event_id]
                    self._delete(event_id)

    def __contains__(self, event_id: object) -> bool:
        with self._lock:
            return event_id in self._order

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def close(self) -> None:
        """Refuse further events and release what the spool holds; pending events of a file
        spool stay on disk for the next process."""
        with self._lock:
            self._closed = True
            self._release()

    def _release(self) -> None:  # noqa: B027 - only the file spool holds resources
        """Free the backend's resources (under the lock; must be idempotent)."""

    def _evict_overflow(self) -> None:
        while len(self._order) > self.max_events:
            event_id, _ = self._order.popitem(last=False)
            evicted = self._read(event_id)
            event_type = str(evicted.event_type) if evicted is not None else "unknown"
            self._delete(event_id)
            metrics.count(event_type, metrics.Result.DROPPED)
            log.error(
                "audit spool full: dropped the oldest pending event",
                event_id=event_id,
                event_type=event_type,
                max_events=self.max_events,
            )

    @abstractmethod
    def _write(self, event: AuditEvent) -> None: ...

    @abstractmethod
    def _read(self, event_id: str) -> AuditEvent | None:
        """The stored event, or None when it is gone or unreadable."""

    @abstractmethod
    def _delete(self, event_id: str) -> None: ...


class MemorySpool(Spool):
    """The spool without a directory: same semantics, lost when the process dies."""

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        super().__init__(max_events)
        self._events: dict[str, AuditEvent] = {}

    def _write(self, event: AuditEvent) -> None:
        self._events[event.event_id] = event

    def _read(self, event_id: str) -> AuditEvent | None:
        return self._events.get(event_id)

    def _delete(self, event_id: str) -> None:
        self._events.pop(event_id, None)


class FileSpool(Spool):
    """One file ``<event_id>.json`` per pending event, written atomically (temp file, fsync,
    rename, directory fsync) before ``put`` returns. On open, whatever a previous process left is
    pending again, oldest first; half-written temp files (never acknowledged) are removed.

    The directory belongs to one process at a time (an exclusive ``flock`` on ``.lock``).
    """

    def __init__(self, directory: str | Path, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        super().__init__(max_events)
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = _lock_directory(self.directory)
        self._last_stamp = 0
        self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        with self._lock:
            self._recover()

    def _release(self) -> None:
        for fd in (self._dir_fd, self._lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._dir_fd = self._lock_fd = -1

    def _recover(self) -> None:
        found: list[tuple[int, str]] = []
        for entry in os.scandir(self.directory):
            if entry.name.endswith(_TMP_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            elif entry.name.endswith(_SUFFIX) and _is_event_id(entry.name[: -len(_SUFFIX)]):
                event_id = entry.name[: -len(_SUFFIX)]
                loaded = self._load(event_id)
                if loaded is not None:
                    found.append((loaded[0], event_id))
        for stamp, event_id in sorted(found):
            self._order[event_id] = None
            self._last_stamp = max(self._last_stamp, stamp)
        if found:
            log.info("audit spool holds events from a previous run", pending=len(found))
        self._evict_overflow()

    def _path(self, event_id: str) -> Path:
        return self.directory / f"{event_id}{_SUFFIX}"

    def _write(self, event: AuditEvent) -> None:
        if not _is_event_id(event.event_id):
            raise ValueError(f"event_id must be a UUID, got {event.event_id!r}")
        # The stamp orders pending events again after a restart; it never goes backwards.
        self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
        record = {"spooled_at_ns": self._last_stamp, "event": event.to_dict()}
        payload = json.dumps(record, ensure_ascii=False).encode()
        tmp = self.directory / f".{event.event_id}.{uuid.uuid4().hex}{_TMP_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self._path(event.event_id))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.fsync(self._dir_fd)

    def _read(self, event_id: str) -> AuditEvent | None:
        loaded = self._load(event_id)
        return None if loaded is None else loaded[1]

    def _load(self, event_id: str) -> tuple[int, AuditEvent] | None:
        """(spool stamp, event) of ``event_id``; an unreadable file is moved aside (``.corrupt``)."""
        path = self._path(event_id)
        try:
            record = json.loads(path.read_bytes())
            return int(record["spooled_at_ns"]), AuditEvent.from_dict(record["event"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.error("unreadable audit spool file moved aside", path=str(path), error=repr(err))
            with contextlib.suppress(OSError):
                os.replace(path, path.with_name(path.name + _CORRUPT_SUFFIX))
            return None

    def _delete(self, event_id: str) -> None:
        # No directory fsync: an unlink lost in a crash only means one idempotent redelivery.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(event_id))


def _is_event_id(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _lock_directory(directory: Path) -> int:
    fd = os.open(directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RuntimeError(f"audit spool {directory} is in use by another process") from None
    return fd
