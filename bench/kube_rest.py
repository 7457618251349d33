"""A lean Kubernetes REST client for the load process: urllib3 keep-alive connections, JSON bodies,
no object model, no retries beyond a dropped connection. It stands for "what a plain client pays",
so it adds as little client-side work as it can."""

from __future__ import annotations

import base64
import json
import tempfile
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
import yaml

Object = dict[str, Any]
RequestKey = tuple[str, str, str]  # verb, resource, subresource: what apiserver_request_total says

MERGE_PATCH = "application/merge-patch+json"


class KubeRestError(RuntimeError):
    """The API server answered outside 2xx."""

    def __init__(self, method: str, path: str, status: int, body: bytes):
        super().__init__(f"{method} {path} answered {status}: {body[:300]!r}")
        self.status = status


def resource_path(
    group: str,
    version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
    query: Mapping[str, str] | None = None,
) -> str:
    path = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    if query:
        path += "?" + urlencode(query)
    return path


class KubeRest:
    """Thread-safe; counts the requests it makes by (verb, resource, subresource) when asked to."""

    def __init__(self, kubeconfig: Path, connections: int = 16):
        config = yaml.safe_load(kubeconfig.read_text())
        context_name = config.get("current-context")
        context = _named(config["contexts"], context_name)["context"]
        cluster = _named(config["clusters"], context["cluster"])["cluster"]
        user = _named(config["users"], context["user"])["user"]
        self._tmp = Path(tempfile.mkdtemp(prefix="bench-kube-"))
        self.headers = {"Accept": "application/json", "User-Agent": "wfe-bench-load"}
        if user.get("token"):
            self.headers["Authorization"] = f"Bearer {user['token']}"
        verify = not cluster.get("insecure-skip-tls-verify")
        self._pool = urllib3.connection_from_url(
            cluster["server"],
            maxsize=connections,
            block=False,
            cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
            ca_certs=self._file(cluster, "certificate-authority"),
            cert_file=self._file(user, "client-certificate"),
            key_file=self._file(user, "client-key"),
            retries=urllib3.Retry(total=2, connect=2, read=0, status=0, redirect=0),
        )
        self.counts: Counter[RequestKey] = Counter()
        self._counts_lock = threading.Lock()

    def _file(self, section: Mapping[str, Any], key: str) -> str | None:
        if section.get(key):
            return str(section[key])
        data = section.get(f"{key}-data")
        if not data:
            return None
        path = self._tmp / key
        path.write_bytes(base64.b64decode(data))
        path.chmod(0o600)
        return str(path)

    def request(
        self,
        method: str,
        path: str,
        body: Object | None = None,
        *,
        content_type: str = "application/json",
        count: RequestKey | None = None,
    ) -> Object:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = content_type
        answer = self._pool.urlopen(method, path, body=data, headers=headers, timeout=60.0)
        if count is not None:
            with self._counts_lock:
                self.counts[count] += 1
        if not 200 <= answer.status < 300:
            raise KubeRestError(method, path, answer.status, answer.data)
        raw = answer.data
        parsed: Object = json.loads(raw) if raw[:1] in (b"{", b"[") else {}
        return parsed

    def take_counts(self) -> Counter[RequestKey]:
        """The requests counted since the last call."""
        with self._counts_lock:
            counts, self.counts = self.counts, Counter()
        return counts


def _named(items: list[Object], name: str) -> Object:
    for item in items:
        if item.get("name") == name:
            return item
    raise ValueError(f"kubeconfig has no entry named {name!r}")
