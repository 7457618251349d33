"""Builds the audit recorder the flags ask for (``--audit-sink``, ``--datastorage-url``,
``--audit-spool-dir``)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from wfe.audit.datastorage_sink import DEFAULT_TIMEOUT_SECONDS, DataStorageSink
from wfe.audit.log_sink import LogSink
from wfe.audit.recorder import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL,
    AuditRecorder,
    NoopRecorder,
    Recorder,
)
from wfe.audit.sink import AuditSink
from wfe.audit.spool import DEFAULT_MAX_EVENTS, FileSpool, MemorySpool, Spool

SINK_NAMES: Final = ("log", "datastorage", "none")

# Where Kubernetes mounts the pod's projected ServiceAccount token (rotated by the kubelet).
SERVICE_ACCOUNT_TOKEN_FILE: Final = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def build_recorder(
    sink_name: str,
    datastorage_url: str | None = None,
    token_file: str | Path | None = None,
    spool_dir: str | Path | None = None,
    *,
    max_spooled_events: int = DEFAULT_MAX_EVENTS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
) -> Recorder:
    """The recorder for ``sink_name``; not started. Raises ``ValueError`` on a bad configuration
    (unknown sink, ``datastorage`` without a URL) and ``RuntimeError`` when the spool directory is
    used by another process. ``token_file=None`` sends no Authorization header."""
    if sink_name == "none":
        return NoopRecorder()
    sink: AuditSink
    if sink_name == "log":
        sink = LogSink()
    elif sink_name == "datastorage":
        if not datastorage_url:
            raise ValueError("--audit-sink=datastorage needs --datastorage-url")
        sink = DataStorageSink(datastorage_url, token_file=token_file, timeout=timeout)
    else:
        raise ValueError(
            f"unknown audit sink {sink_name!r}; expected one of {', '.join(SINK_NAMES)}"
        )
    spool: Spool = (
        FileSpool(spool_dir, max_spooled_events) if spool_dir else MemorySpool(max_spooled_events)
    )
    return AuditRecorder(sink, spool, batch_size=batch_size, flush_interval=flush_interval)
