"""Client-side flow control as client-go's: a token bucket, and when the server says to retry.

The bucket (``--kube-api-qps``/``--kube-api-burst``) caps the request rate this process can put on
the API server whatever its workers do; a hot loop waits here instead of loading the server. The
retry rules are client-go's ``rest.Request``: an answer that carries ``Retry-After`` (429 from API
Priority and Fairness, or a 5xx) is retried after the server's delay, up to 10 times, for any verb
(the server did not act on it); an idempotent read broken by a connection reset is retried after
a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from wfe.runtime.client.errors import ConnectionBrokenError

# client-go's rest.Request maxRetries
MAX_RETRIES = 10
# client-go waits a second before retrying a GET whose connection was reset
CONNECTION_RESET_RETRY_SECONDS = 1.0
# a Retry-After longer than this is honoured only up to it: a worker must not sleep for an hour
MAX_RETRY_AFTER_SECONDS = 60.0


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved up; ``wait()`` takes one, sleeping if needed.

    Reservations are first come, first served (golang.org/x/time/rate's ``Wait``): each caller
    books the next token under the lock and sleeps outside it.
    """

    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if qps <= 0 or burst < 1:
            raise ValueError("a token bucket needs qps > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()

    def reserve(self) -> float:
        """Takes a token; returns how long the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def wait(self) -> float:
        """Blocks until a token is available; returns the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay


class Unlimited:
    """No client-side limit (``--kube-api-qps 0``)."""

    def wait(self) -> float:
        return 0.0


RateLimiter = TokenBucket | Unlimited


def new_rate_limiter(qps: float, burst: int) -> RateLimiter:
    """A token bucket; ``qps`` <= 0 turns client-side throttling off."""
    return Unlimited() if qps <= 0 else TokenBucket(qps, max(1, burst))


def retry_after_seconds(status: int, headers: object) -> float | None:
    """The server's ``Retry-After`` (seconds) when a 429 or 5xx answer carries one, else None."""
    if status != 429 and status < 500:
        return None
    get = getattr(headers, "get", None)
    value = get("Retry-After") if callable(get) else None
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None  # an HTTP date: client-go ignores those too
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def is_connection_reset(err: BaseException) -> bool:
    """A connection the server (or something between) dropped: worth one more try for a read.

    The transports report it as ``ConnectionBrokenError`` (closed without an answer, "Response
    ended prematurely"; urllib3's ProtocolError is translated to it); timeouts are not resets.
    """
    return isinstance(err, ConnectionBrokenError | ConnectionResetError | BrokenPipeError)
