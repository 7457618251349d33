"""Liveness and readiness endpoints (``/healthz``, ``/readyz``) with controller-runtime's semantics.

Each endpoint aggregates named checks. A check returns ``None`` when healthy, or an error string
(raising counts as failing with the exception's text). The aggregate answers 200 ``ok``; with
``?verbose`` or on any failure it lists ``[+]name ok`` / ``[-]name failed: reason withheld`` and ends
with ``healthz check passed`` / ``healthz check failed`` (controller-runtime writes that last line for
both endpoints), answering 500 on failure. ``?exclude=name`` skips a check; ``/<endpoint>/<name>``
runs one check and, unlike the public aggregate, shows its reason.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

import structlog

from wfe.runtime.httpserver import (
    DEFAULT_LIMITS,
    NOT_FOUND,
    App,
    BackgroundHTTPServer,
    Request,
    Response,
    ServerLimits,
)

log = structlog.get_logger(__name__)

Check = Callable[[], str | None]

_NO_SNIFF = {"X-Content-Type-Options": "nosniff"}


def ping() -> str | None:
    """Healthy as long as the process can answer HTTP."""
    return None


def run_check(check: Check) -> str | None:
    """The check's error (``None`` when healthy); an exception is a failure, never a crash."""
    try:
        return check()
    except Exception as err:
        return str(err) or type(err).__name__


@dataclass(frozen=True, slots=True)
class CheckResponse:
    status: int
    body: str


class HealthChecks:
    """The named checks behind one endpoint; ``ping`` is always registered."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self._lock = threading.Lock()
        self._checks: dict[str, Check] = {"ping": ping}

    def add(self, name: str, check: Check) -> None:
        if not name or "/" in name:
            raise ValueError(f"invalid {self.endpoint} check name {name!r}")
        with self._lock:
            if name in self._checks:
                raise ValueError(f"there is already a {self.endpoint} check named {name!r}")
            self._checks[name] = check

    def snapshot(self) -> dict[str, Check]:
        with self._lock:
            return dict(self._checks)

    def respond(self, subpath: str, query: str) -> CheckResponse:
        """Answer ``/<endpoint><subpath>?<query>``: the aggregate at ``""``/``"/"``, else one check."""
        name = posixpath.normpath("/" + subpath).lstrip("/")
        checks = self.snapshot()
        if not name:
            params = parse_qs(query, keep_blank_values=True)
            return self._aggregate(checks, set(params.get("exclude", ())), "verbose" in params)
        check = checks.get(name)
        if check is None:
            return CheckResponse(404, "404 page not found\n")
        error = run_check(check)
        if error is None:
            return CheckResponse(200, "ok")
        return CheckResponse(500, f"internal server error: {error}\n")

    def _aggregate(
        self, checks: dict[str, Check], excluded: set[str], verbose: bool
    ) -> CheckResponse:
        lines: list[str] = []
        failures: dict[str, str] = {}
        for name in sorted(checks):
            if name in excluded:
                lines.append(f"[+]{name} excluded: ok")
                continue
            error = run_check(checks[name])
            if error is None:
                lines.append(f"[+]{name} ok")
            else:
                failures[name] = error
                lines.append(f"[-]{name} failed: reason withheld")
        if not failures and not verbose:
            return CheckResponse(200, "ok")
        unknown = sorted(excluded - checks.keys())
        if unknown:
            lines.append(
                "warn: some health checks cannot be excluded: no matches for "
                + ",".join(f'"{name}"' for name in unknown)
            )
        if failures:
            log.info(f"{self.endpoint} check failed", failures=failures)
            lines.append("healthz check failed")
        else:
            lines.append("healthz check passed")
        return CheckResponse(500 if failures else 200, "\n".join(lines) + "\n")


class HealthProbeServer:
    """Serves ``/healthz`` and ``/readyz`` (and their per-check sub-paths) on its own thread."""

    def __init__(self, bind_address: str, *, limits: ServerLimits = DEFAULT_LIMITS):
        self.healthz = HealthChecks("healthz")
        self.readyz = HealthChecks("readyz")
        self._http = BackgroundHTTPServer(
            "health-probe", bind_address, _app_for((self.healthz, self.readyz)), limits=limits
        )

    def add_healthz_check(self, name: str, check: Check) -> None:
        self.healthz.add(name, check)

    def add_readyz_check(self, name: str, check: Check) -> None:
        self.readyz.add(name, check)

    @property
    def port(self) -> int:
        return self._http.port

    def start(self) -> None:
        self._http.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._http.stop(timeout)


def _app_for(endpoints: Iterable[HealthChecks]) -> App:
    by_name = {checks.endpoint: checks for checks in endpoints}

    def serve(request: Request) -> Response:
        endpoint, _, subpath = request.path.removeprefix("/").partition("/")
        checks = by_name.get(endpoint)
        if checks is None:
            return NOT_FOUND
        answer = checks.respond(subpath, request.query)
        return Response(answer.status, answer.body.encode(), headers=_NO_SNIFF)

    return serve
