"""Audit sink for Kubernaut Data Storage: ``POST <url>/api/v1/audit/events/batch`` with a JSON array
of envelopes and a bearer token re-read from its file at every send (rotated tokens keep working)."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from wfe.audit.events import AuditEvent
from wfe.audit.sink import AuditDeliveryError, AuditRejectedError

BATCH_PATH: Final = "/api/v1/audit/events/batch"
USER_AGENT: Final = "workflowexecution-controller"
# How long one batch may take to be answered. A batch whose answer is not awaited is sent again,
# and a slow Data Storage then stores it twice (or more): at 10 s a 12 s-slow server got each event
# 1.4-2x. Waiting longer costs nothing but the delivery thread's time: auditing never holds a
# workflow, and shutdown does not wait for it beyond its own budget.
DEFAULT_TIMEOUT_SECONDS: Final = 30.0

# 4xx answers that say "not now" rather than "never": request timeout, rate limited, and the
# credential errors an SRE fixes (expired or rotated token, RBAC not applied yet). Dropping every
# event during such a misconfiguration would lose the audit trail; retrying loses nothing.
_TRANSIENT_CLIENT_ERRORS: Final = frozenset({401, 403, 408, 429})
_MAX_ERROR_BODY: Final = 512


class DataStorageSink:
    """Sends batches to Data Storage. 2xx and 409 (duplicate event_id) mean accepted."""

    def __init__(
        self,
        base_url: str,
        *,
        token_file: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"Data Storage URL must be http(s)://host[:port][/prefix], got {base_url!r}"
            )
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + BATCH_PATH
        self._token_file = Path(token_file) if token_file is not None else None
        self._timeout = timeout
        self._ssl_context = ssl_context
        self.url = f"{parts.scheme}://{parts.netloc}{self._path}"

    def send_batch(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        body = json.dumps([event.to_dict() for event in events], ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        token = self._read_token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        status, detail = self._post(body, headers)
        if 200 <= status < 300 or status == 409:
            return
        message = f"Data Storage answered {status} to a batch of {len(events)} event(s): {detail}"
        if 400 <= status < 500 and status not in _TRANSIENT_CLIENT_ERRORS:
            raise AuditRejectedError(message)
        raise AuditDeliveryError(message)

    def _read_token(self) -> str | None:
        if self._token_file is None:
            return None
        try:
            token = self._token_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise AuditDeliveryError(
                f"cannot read the Data Storage token file {self._token_file}: {err.strerror}"
            ) from err
        if not token:
            raise AuditDeliveryError(f"the Data Storage token file {self._token_file} is empty")
        return token

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        connection = self._connect()
        try:
            connection.request("POST", self._path, body=body, headers=headers)
            response = connection.getresponse()
            detail = response.read(_MAX_ERROR_BODY).decode("utf-8", errors="replace")
            return response.status, detail.strip() or response.reason
        except (OSError, http.client.HTTPException) as err:
            raise AuditDeliveryError(f"POST {self.url} failed: {err!r}") from err
        finally:
            connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(
                self._host,
                self._port,
                timeout=self._timeout,
                context=self._ssl_context or ssl.create_default_context(),
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
