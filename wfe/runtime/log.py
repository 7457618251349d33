"""Process logging: structlog over stdlib logging, one JSON object per line by default.

Every record carries ``ts`` (ISO 8601, UTC), ``level``, ``logger`` and ``msg``; records from
libraries that use stdlib ``logging`` get the same shape. ``reconcile_context`` binds the
per-reconcile keys (``controller``, ``namespace``, ``name``, ``reconcileID``) to every line logged
on the current thread inside it.

Secrets: bearer tokens, client keys and Authorization headers are never passed to the logger (the
REST client logs neither headers nor credentials). As a safety net, a value logged under a key
such as ``authorization`` or ``token`` is replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import Processor

LogFormat = Literal["json", "console"]

REDACTED = "[REDACTED]"
SECRET_KEYS = frozenset(
    (
        "authorization",
        "token",
        "bearer_token",
        "access_token",
        "password",
        "secret",
        "api_key",
        "client_key",
    )
)

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def parse_level(level: str | int) -> int:
    """``"debug"|"info"|"warn(ing)"|"error"`` (any case) or a stdlib level number."""
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(
            f"invalid log level {level!r}: want one of debug, info, warn, error"
        ) from None


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the value of any secret-looking key (see ``SECRET_KEYS``)."""
    for key in event_dict:
        if key.lower() in SECRET_KEYS:
            event_dict[key] = REDACTED
    return event_dict


_STANDARD_KEYS = ("ts", "level", "logger", "msg")


def _standard_keys_first(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    ordered = {key: event_dict.pop(key) for key in _STANDARD_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def configure_logging(
    level: str | int = "info", fmt: LogFormat = "json", stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) in the chosen format."""
    if fmt not in ("json", "console"):
        raise ValueError(f"invalid log format {fmt!r}: want json or console")
    threshold = parse_level(level)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        redact_secrets,
    ]
    rendering: list[Processor]
    if fmt == "json":
        rendering = [
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("msg"),
            _standard_keys_first,
            structlog.processors.JSONRenderer(),
        ]
    else:
        rendering = [structlog.dev.ConsoleRenderer(colors=False, timestamp_key="ts")]

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(threshold)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (the ``logger`` field)."""
    return structlog.stdlib.get_logger(name)


def new_reconcile_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def reconcile_context(
    *,
    controller: str,
    namespace: str,
    name: str,
    reconcile_id: str | None = None,
    **extra: Any,
) -> Iterator[str]:
    """Bind the reconcile's keys (plus ``extra``) to this thread's log lines; yields reconcileID."""
    reconcile_id = reconcile_id or new_reconcile_id()
    with structlog.contextvars.bound_contextvars(
        controller=controller,
        namespace=namespace,
        name=name,
        reconcileID=reconcile_id,
        **extra,
    ):
        yield reconcile_id
