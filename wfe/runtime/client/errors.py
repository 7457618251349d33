"""API errors as client-go's apimachinery/pkg/api/errors: one exception carrying status and reason."""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    """A non-2xx answer from the API server (``metav1.Status``), or a transport failure (status 0)."""

    def __init__(self, status: int, reason: str, message: str, body: dict[str, Any] | None = None):
        super().__init__(f"{status} {reason}: {message}" if status else message)
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body or {}

    @classmethod
    def from_response(cls, status: int, data: bytes) -> ApiError:
        body: dict[str, Any] = {}
        try:
            parsed = json.loads(data) if data else {}
            if isinstance(parsed, dict):
                body = parsed
        except ValueError:
            pass
        reason = str(body.get("reason") or _REASON_BY_STATUS.get(status, "Unknown"))
        message = str(body.get("message") or data[:500].decode("utf-8", "replace")).strip()
        return cls(status, reason, message, body)

    @property
    def retry_after_seconds(self) -> float | None:
        details = self.body.get("details") or {}
        seconds = details.get("retryAfterSeconds") if isinstance(details, dict) else None
        return float(seconds) if isinstance(seconds, int | float) else None


class ApiConnectionError(ApiError):
    """The API server could not be reached or did not answer in time: always transient."""

    def __init__(self, message: str):
        super().__init__(0, "ApiConnectionError", message)


class TransportError(OSError):
    """A request failed on its way: no whole answer came back (refused, timed out, broken, TLS).

    Raised by the transports (the lean one, and urllib3's errors translated), so nothing above
    them depends on urllib3; the client turns it into :class:`ApiConnectionError` after its retries.
    """


class ConnectionBrokenError(TransportError):
    """The connection ended or broke before a whole answer was read: closed without an answer,
    cut mid-body, or an answer that is not HTTP. For the retry rules this is a connection reset
    (a read is retried), as urllib3's ``ProtocolError`` was."""


class ClientFencedError(ApiError):
    """The process gave up the right to write (it lost its leader lease): no write leaves it."""

    def __init__(self, message: str):
        super().__init__(0, "Fenced", message)


_REASON_BY_STATUS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, ApiError) and err.status == 404


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, ApiError) and err.status == 409 and err.reason == "AlreadyExists"


def is_conflict(err: BaseException) -> bool:
    """An optimistic-concurrency conflict (stale resourceVersion), not AlreadyExists."""
    return isinstance(err, ApiError) and err.status == 409 and err.reason != "AlreadyExists"


def is_gone(err: BaseException) -> bool:
    """410: the requested resourceVersion was compacted away (watch must relist)."""
    return isinstance(err, ApiError) and (err.status == 410 or err.reason in ("Expired", "Gone"))


def is_forbidden(err: BaseException) -> bool:
    return isinstance(err, ApiError) and err.status == 403


def is_invalid(err: BaseException) -> bool:
    return isinstance(err, ApiError) and err.status == 422


def is_transient(err: BaseException) -> bool:
    """Worth retrying with backoff: transport failures, conflicts, throttling and server errors."""
    if not isinstance(err, ApiError):
        return False
    return err.status == 0 or err.status in (409, 429) or err.status >= 500
