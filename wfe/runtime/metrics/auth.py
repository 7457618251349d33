"""Authenticated, authorized /metrics: controller-runtime's ``WithAuthenticationAndAuthorization``.

A scrape is served only when the API server says so. Its bearer token is checked with a
TokenReview (who is this?), then a SubjectAccessReview asks whether that user may ``get`` the
non-resource URL of the request (``/metrics``): the ClusterRole ``…-metrics-reader`` grants it.
Answers follow controller-runtime: 401 without a valid token, 403 when not allowed, 500 when the
API server could not answer. Results are cached like Kubernetes' delegating authenticator and
authorizer (authenticated 1 min, allowed 5 min, denied 30 s; tokens are kept only as SHA-256
digests), so a scrape every few seconds costs no API call.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from wfe.runtime.client import Client, Resource
from wfe.runtime.httpserver import Request, Response

log = structlog.get_logger(__name__)

TOKEN_REVIEWS: Final = Resource(
    "authentication.k8s.io", "v1", "tokenreviews", "TokenReview", namespaced=False
)
SUBJECT_ACCESS_REVIEWS: Final = Resource(
    "authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", namespaced=False
)

AUTHENTICATED_TTL: Final = 60.0
ALLOWED_TTL: Final = 300.0
DENIED_TTL: Final = 30.0
_MAX_CACHED: Final = 1024

# A filter answers a request itself (refusal) or returns None to let it through.
Filter = Callable[[Request], Response | None]


@dataclass(frozen=True)
class UserInfo:
    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)


class _TtlCache:
    """A small bounded map whose entries expire; the oldest entry goes first when it is full."""

    def __init__(self, clock: Callable[[], float], max_entries: int = _MAX_CACHED):
        self._clock = clock
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                self._entries.pop(key, None)
                return False, None
            return True, entry[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class DelegatingAuthFilter:
    """Delegates authentication (TokenReview) and authorization (SubjectAccessReview) to the API
    server; the controller needs ``create`` on both (config/rbac: ``…-metrics-auth``)."""

    def __init__(self, client: Client, *, clock: Callable[[], float] = time.monotonic):
        self._client = client
        self._users = _TtlCache(clock)
        self._decisions = _TtlCache(clock)

    def __call__(self, request: Request) -> Response | None:
        token = _bearer_token(request.headers.get("Authorization", ""))
        if token is None:
            return _refuse(401, "Unauthorized")
        try:
            user = self._authenticate(token)
        except Exception as err:  # ApiError, or anything else: never a crash
            log.error("metrics authentication failed", error=str(err))
            return _refuse(500, "Authentication failed")
        if user is None:
            return _refuse(401, "Unauthorized")
        verb = request.method.lower()
        try:
            allowed = self._authorize(user, verb, request.path)
        except Exception as err:
            log.error("metrics authorization failed", user=user.username, error=str(err))
            return _refuse(500, f"Authorization for user {user.username} failed")
        if not allowed:
            log.debug("metrics authorization denied", user=user.username, path=request.path)
            return _refuse(403, f"Authorization denied for user {user.username}")
        return None

    def _authenticate(self, token: str) -> UserInfo | None:
        key = hashlib.sha256(token.encode()).digest()
        cached, user = self._users.get(key)
        if cached:
            return user  # type: ignore[no-any-return]
        review = self._client.create(
            TOKEN_REVIEWS,
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token},
            },
        )
        status = review.get("status") or {}
        found: UserInfo | None = None
        if status.get("authenticated"):
            raw = status.get("user") or {}
            found = UserInfo(
                username=str(raw.get("username", "")),
                uid=str(raw.get("uid", "")),
                groups=tuple(raw.get("groups") or ()),
                extra={k: list(v) for k, v in (raw.get("extra") or {}).items()},
            )
        # like the delegating authenticator, only successes are cached (a failure may be a token
        # that is not valid *yet*)
        if found is not None:
            self._users.put(key, found, AUTHENTICATED_TTL)
        return found

    def _authorize(self, user: UserInfo, verb: str, path: str) -> bool:
        key = (user.username, user.uid, user.groups, verb, path)
        cached, decision = self._decisions.get(key)
        if cached:
            return bool(decision)
        spec: dict[str, Any] = {
            "user": user.username,
            "groups": list(user.groups),
            "nonResourceAttributes": {"path": path, "verb": verb},
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = user.extra
        review = self._client.create(
            SUBJECT_ACCESS_REVIEWS,
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec},
        )
        allowed = bool((review.get("status") or {}).get("allowed"))
        self._decisions.put(key, allowed, ALLOWED_TTL if allowed else DENIED_TTL)
        return allowed


def _bearer_token(header: str) -> str | None:
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _refuse(status: int, message: str) -> Response:
    return Response(status, f"{message}\n".encode(), headers={"X-Content-Type-Options": "nosniff"})
