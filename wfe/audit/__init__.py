"""The audit trail (SPEC §9): lifecycle events, spooled durably and delivered at least once to a
log or to Kubernaut Data Storage, idempotent by ``event_id``."""

from wfe.audit.datastorage_sink import DataStorageSink
from wfe.audit.events import AuditEvent, EventType, build_event, event_id_for
from wfe.audit.factory import SERVICE_ACCOUNT_TOKEN_FILE, build_recorder
from wfe.audit.log_sink import LogSink
from wfe.audit.recorder import AuditRecorder, DeliveryListener, NoopRecorder, Recorder
from wfe.audit.sink import AuditDeliveryError, AuditRejectedError, AuditSink
from wfe.audit.spool import FileSpool, MemorySpool, Spool

__all__ = [
    "SERVICE_ACCOUNT_TOKEN_FILE",
    "AuditDeliveryError",
    "AuditEvent",
    "AuditRecorder",
    "AuditRejectedError",
    "AuditSink",
    "DataStorageSink",
    "DeliveryListener",
    "EventType",
    "FileSpool",
    "LogSink",
    "MemorySpool",
    "NoopRecorder",
    "Recorder",
    "Spool",
    "build_event",
    "build_recorder",
    "event_id_for",
]
