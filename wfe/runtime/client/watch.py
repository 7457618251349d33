"""One streaming WATCH connection: yields decoded events and can be closed from another thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

from wfe.runtime.client import codec
from wfe.runtime.client.errors import ApiConnectionError, ApiError


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; ``object`` the object (or a Status)."""

    type: str
    object: dict[str, Any]


class WatchStream:
    """Iterates a watch response line by line; ``close()`` unblocks a reader stuck in a socket read."""

    def __init__(self, response: urllib3.BaseHTTPResponse):
        self._response = response
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[WatchEvent]:
        buffer = b""
        try:
            for chunk in self._response.stream(amt=None, decode_content=True):
                if self._closed.is_set():
                    return
                buffer += chunk
                if b"\n" not in chunk:
                    continue  # an event split across chunks: wait for its end
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _decode(line)
        except ReadTimeoutError as err:
            # the inactivity deadline: no byte (not even a bookmark) within the read timeout
            raise ApiConnectionError(f"watch idle past its deadline: {err}") from err
        except (ProtocolError, HTTPError, OSError) as err:
            if self._closed.is_set():
                return
            raise ApiConnectionError(f"watch connection broken: {err}") from err
        finally:
            self.close()
        if buffer.strip() and not self._closed.is_set():
            yield _decode(buffer)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        # urllib3 refuses to shut down a response it already closed itself (the server ended the
        # connection mid-stream: "Response ended prematurely"): ValueError or RuntimeError. The
        # connection is gone either way, which is all this wanted.
        with contextlib.suppress(AttributeError, OSError, RuntimeError, ValueError):
            self._response.shutdown()  # unblocks a read in progress on another thread
        # close the socket before handing the connection back: a watch cut short must not linger
        # in the pool half-read (the API server would wait on it until its own timeout)
        with contextlib.suppress(OSError, HTTPError, ValueError, RuntimeError):
            self._response.close()
            self._response.release_conn()


def _decode(line: bytes) -> WatchEvent:
    try:
        raw = codec.loads(line)
    except ValueError as err:
        raise ApiConnectionError(f"undecodable watch event: {line[:200]!r}") from err
    event_type = str(raw.get("type", ""))
    obj = raw.get("object") or {}
    if event_type == "ERROR":
        code = int(obj.get("code") or 500)
        raise ApiError(
            code, str(obj.get("reason") or "Unknown"), str(obj.get("message") or ""), obj
        )
    return WatchEvent(event_type, obj)
