"""Counts the requests the API server served, by verb and resource, from its own /metrics.

The count of API calls per workflow does not depend on how fast the machine is, which makes it the
most stable efficiency figure of a run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import urllib3
from prometheus_client.parser import text_string_to_metric_families

from wfe.runtime.envtest import ControlPlane

WRITE_VERBS = frozenset(("POST", "PUT", "PATCH", "DELETE", "APPLY"))
READ_VERBS = frozenset(("GET", "LIST"))
REQUEST_TOTAL = "apiserver_request_total"
MIN_PER_WORKFLOW = 0.01
SETTLE_QUIET_S = 1.5  # no write served for this long: what was sent in the background has landed
SETTLE_LIMIT_S = 30.0


@dataclass(frozen=True, order=True)
class RequestKind:
    verb: str
    resource: str
    subresource: str
    code: str = ""  # empty for any 2xx; otherwise the status code (409: a conflict, AlreadyExists)

    def __str__(self) -> str:
        path = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {path}" + (f" [{self.code}]" if self.code else "")


RequestCounts = Counter[RequestKind]


@dataclass(frozen=True)
class Settled:
    seconds: float  # until no write was served for SETTLE_QUIET_S
    writes: RequestCounts  # the writes that landed meanwhile

    def as_dict(self) -> dict[str, object]:
        return {"seconds": self.seconds, "writes": {str(k): n for k, n in self.writes.items()}}


class ApiServerRequests:
    """Reads ``apiserver_request_total`` from the control plane as its admin."""

    def __init__(self, plane: ControlPlane):
        self._url = f"{plane.url}/metrics"
        self._headers = {"Authorization": f"Bearer {plane.admin.token}"}
        self._pool = urllib3.PoolManager(ca_certs=str(plane.workdir / "pki" / "ca.crt"))

    def settle(self) -> Settled:
        """Waits until the write counters stop moving: a controller sends its Events from a
        background queue that trails a burst by seconds."""
        return wait_until_quiet(self.counts)

    def counts(self) -> RequestCounts:
        answer = self._pool.request(
            "GET", self._url, headers=self._headers, timeout=30.0, retries=False
        )
        if answer.status != 200:
            raise RuntimeError(f"GET /metrics answered {answer.status}")
        # the exposition runs to megabytes; parse only the one family we read
        wanted = "\n".join(
            line
            for line in answer.data.decode().splitlines()
            if line.startswith(REQUEST_TOTAL + "{")
        )
        counts: RequestCounts = Counter()
        for family in text_string_to_metric_families(wanted):
            for metric in family.samples:
                labels = metric.labels
                code = labels.get("code", "")
                kind = RequestKind(
                    labels.get("verb", ""),
                    labels.get("resource", ""),
                    labels.get("subresource", ""),
                    "" if code.startswith("2") else code,
                )
                counts[kind] += int(metric.value)
        return counts


IGNORED_VERBS = frozenset(("WATCH", "WATCHLIST", "CONNECT"))
# the API server's own heartbeats; none of the measured controllers runs leader election here
IGNORED_RESOURCES = frozenset(("leases",))


def wait_until_quiet(
    read: Callable[[], RequestCounts],
    quiet_s: float = SETTLE_QUIET_S,
    limit_s: float = SETTLE_LIMIT_S,
) -> Settled:
    """Reads the counters every ``quiet_s`` until two readings in a row served the same number
    of writes (or ``limit_s`` passed); returns how long that took and which writes landed."""
    began = time.monotonic()
    first = last = read()
    while time.monotonic() - began < limit_s:
        time.sleep(quiet_s)
        now = read()
        quiet = _writes(now) == _writes(last)
        last = now
        if quiet:
            break
    landed = requests_by(first, last)
    return Settled(
        time.monotonic() - began,
        Counter({k: n for k, n in landed.items() if k.verb in WRITE_VERBS}),
    )


def _writes(counts: RequestCounts) -> int:
    """All writes counted (leases aside)."""
    return sum(
        n
        for kind, n in counts.items()
        if kind.verb in WRITE_VERBS and kind.resource not in IGNORED_RESOURCES
    )


def requests_by(
    before: RequestCounts, after: RequestCounts, others: RequestCounts | None = None
) -> RequestCounts:
    """Requests served between two readings, minus ``others`` (what the load process counted of its
    own): what the system under test asked for. Watches, non-resource requests (``/metrics``) and
    leases are left out; a negative remainder (a reading raced a request) counts as none."""
    mine: RequestCounts = Counter()
    for kind, count in (after - before).items():
        if (
            kind.resource
            and kind.verb not in IGNORED_VERBS
            and kind.resource not in IGNORED_RESOURCES
        ):
            mine[kind] = count
    mine.subtract(others or Counter())
    return +mine  # drops zero and negative counts


def per_workflow(counts: RequestCounts, workflows: int) -> dict[str, float]:
    """Requests per workflow by kind, largest first; kinds under one per hundred workflows left out."""
    rows = {
        str(kind): count / workflows
        for kind, count in counts.items()
        if count / workflows >= MIN_PER_WORKFLOW
    }
    return dict(sorted(rows.items(), key=lambda item: (-item[1], item[0])))


def total(per_kind: dict[str, float], verbs: frozenset[str]) -> float:
    """The sum over the kinds whose verb is in ``verbs`` (kinds read ``VERB resource[/sub]``)."""
    return sum(n for kind, n in per_kind.items() if kind.split(" ", 1)[0] in verbs)
