"""The default audit sink: one structured log line per event, the envelope under ``audit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import structlog

from wfe.audit.events import AuditEvent

LOGGER_NAME = "wfe.audit"


class _InfoLogger(Protocol):
    def info(self, event: str, **fields: Any) -> Any: ...


class LogSink:
    """Writes each event as one log record (one JSON line with the JSON renderer). Never fails."""

    def __init__(self, logger: _InfoLogger | None = None) -> None:
        self._logger: _InfoLogger = logger or structlog.get_logger(LOGGER_NAME)

    def send_batch(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            self._logger.info("audit_event", audit=event.to_dict())
