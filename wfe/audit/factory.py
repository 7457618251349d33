"""Builds the audit recorder the flags ask for (``--audit-sink``, ``--datastorage-url``,
``--datastorage-token-file``, ``--datastorage-insecure``, ``--audit-spool-dir``,
``--audit-redact-parameters``)."""

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
from wfe.audit.redaction import redact_parameters as redact_parameters_of
from wfe.audit.sink import AuditSink
from wfe.audit.spool import DEFAULT_MAX_EVENTS, FileSpool, MemorySpool, Spool

SINK_NAMES: Final = ("log", "datastorage", "none")

# Where Kubernetes mounts the pod's API-server token. Never sent to Data Storage (issue 11): the
# Deployment mounts a projected token with Data Storage's audience instead (config/manager).
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
    allow_insecure: bool = False,
    redact_parameters: bool = False,
) -> Recorder:
    """The recorder for ``sink_name``; not started. Raises ``ValueError`` on a bad configuration
    (unknown sink, ``datastorage`` without a URL, a plain ``http://`` URL without
    ``allow_insecure``, the API-server token as Data Storage token) and ``RuntimeError`` when the
    spool directory is used by another process. ``token_file=None`` sends no Authorization header."""
    if sink_name == "none":
        return NoopRecorder()
    sink: AuditSink
    if sink_name == "log":
        sink = LogSink()
    elif sink_name == "datastorage":
        if not datastorage_url:
            raise ValueError("--audit-sink=datastorage needs --datastorage-url")
        if datastorage_url.lower().startswith("http://") and not allow_insecure:
            raise ValueError(
                f"Data Storage URL {datastorage_url!r} is plain http://: use https:// "
                "or allow it explicitly (--datastorage-insecure)"
            )
        if token_file is not None and Path(token_file) == Path(SERVICE_ACCOUNT_TOKEN_FILE):
            raise ValueError("the pod's API-server token must not be sent to Data Storage")
        sink = DataStorageSink(datastorage_url, token_file=token_file, timeout=timeout)
    else:
        raise ValueError(
            f"unknown audit sink {sink_name!r}; expected one of {', '.join(SINK_NAMES)}"
        )
    spool: Spool = (
        FileSpool(spool_dir, max_spooled_events) if spool_dir else MemorySpool(max_spooled_events)
    )
    return AuditRecorder(
        sink,
        spool,
        batch_size=batch_size,
        flush_interval=flush_interval,
        transform=redact_parameters_of if redact_parameters else None,
    )
