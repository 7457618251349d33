"""Counts the requests the API server served, by verb and resource, from its own /metrics.

The count of API calls per workflow does not depend on how fast the machine is, which makes it the
most stable efficiency figure of a run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import urllib3
from prometheus_client.parser import text_string_to_metric_families

from wfe.runtime.envtest import ControlPlane

WRITE_VERBS = frozenset(("POST", "PUT", "PATCH", "DELETE", "APPLY"))
READ_VERBS = frozenset(("GET", "LIST"))
REQUEST_TOTAL = "apiserver_request_total"
MIN_PER_WORKFLOW = 0.01


@dataclass(frozen=True, order=True)
class RequestKind:
    verb: str
    resource: str
    subresource: str

    def __str__(self) -> str:
        path = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {path}"


RequestCounts = Counter[RequestKind]


class ApiServerRequests:
    """Reads ``apiserver_request_total`` from the control plane as its admin."""

    def __init__(self, plane: ControlPlane):
        self._url = f"{plane.url}/metrics"
        self._headers = {"Authorization": f"Bearer {plane.admin.token}"}
        self._pool = urllib3.PoolManager(ca_certs=str(plane.workdir / "pki" / "ca.crt"))

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
                kind = RequestKind(
                    labels.get("verb", ""),
                    labels.get("resource", ""),
                    labels.get("subresource", ""),
                )
                counts[kind] += int(metric.value)
        return counts


def per_workflow(
    before: RequestCounts, after: RequestCounts, workflows: int, verbs: frozenset[str]
) -> dict[str, float]:
    """Requests of ``verbs`` served between two readings, per workflow, by kind; largest first.

    Non-resource requests (``/metrics``, ``/openapi``) and kinds under one request per hundred
    workflows (the API server's own lease renewals, say) are left out.
    """
    delta = after - before
    rows = {
        str(kind): count / workflows
        for kind, count in delta.items()
        if kind.verb in verbs and kind.resource and count / workflows >= MIN_PER_WORKFLOW
    }
    return dict(sorted(rows.items(), key=lambda item: (-item[1], item[0])))
