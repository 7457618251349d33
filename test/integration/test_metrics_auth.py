"""/metrics behind the API server's authentication and authorization, on a real kube-apiserver.

The metrics server runs with the controller's own identity under exactly config/rbac (its
TokenReview and SubjectAccessReview rights come from there), and is scraped with real
ServiceAccount tokens: one bound to config/rbac's metrics-reader ClusterRole, one bound to nothing.
"""

from __future__ import annotations

import copy
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter
from support.identities import CONTROLLER_USER
from support.rbac import (
    CONTROLLER_RBAC_DIR,
    RESOURCES_BY_KIND,
    SUBJECT_ACCESS_REVIEWS,
    apply,
    apply_controller_rbac,
)
from support.wait import wait_for

from wfe.runtime.client import Client, Object
from wfe.runtime.envtest import ControlPlane
from wfe.runtime.metrics.auth import DelegatingAuthFilter
from wfe.runtime.metrics.server import MetricsServer, SecureServing

SERVICE_ACCOUNTS = RESOURCES_BY_KIND["ServiceAccount"]
CLUSTER_ROLE_BINDINGS = RESOURCES_BY_KIND["ClusterRoleBinding"]
READER_ROLE: Object = yaml.safe_load((CONTROLLER_RBAC_DIR / "metrics_reader_role.yaml").read_text())


def token_of(admin: Client, namespace: str, name: str) -> str:
    admin.create(SERVICE_ACCOUNTS, {"metadata": {"name": name, "namespace": namespace}})
    answer = admin.request(
        "POST",
        SERVICE_ACCOUNTS.path(namespace, name, "token"),
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    return str(answer["status"]["token"])


def may_read_metrics(admin: Client, user: str) -> bool:
    review = admin.create(
        SUBJECT_ACCESS_REVIEWS,
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": ["system:serviceaccounts", "system:authenticated"],
                "nonResourceAttributes": {"path": "/metrics", "verb": "get"},
            },
        },
    )
    return bool(review.get("status", {}).get("allowed"))


class Scraper:
    def __init__(self, port: int) -> None:
        self.port = port
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE  # the certificate is self-signed

    def get(self, path: str = "/metrics", token: str | None = None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        request = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self._tls) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


@pytest.fixture(scope="module")
def scraper(control_plane: ControlPlane, admin_client: Client) -> Iterator[Scraper]:
    apply_controller_rbac(admin_client)
    registry = CollectorRegistry()
    Counter("demo_scrapes", "Scrapes.", registry=registry).inc()
    auth = DelegatingAuthFilter(control_plane.client(CONTROLLER_USER))
    server = MetricsServer("127.0.0.1:0", registry, secure=SecureServing(filter=auth))
    server.start()
    yield Scraper(server.port)
    server.stop()


@pytest.fixture
def reader_token(admin_client: Client, namespace: str) -> Iterator[str]:
    name = f"prometheus-{uuid.uuid4().hex[:6]}"
    token = token_of(admin_client, namespace, name)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"metrics-reader-{namespace}"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": READER_ROLE["metadata"]["name"],
        },
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    apply(admin_client, copy.deepcopy(binding))
    user = f"system:serviceaccount:{namespace}:{name}"
    wait_for(lambda: may_read_metrics(admin_client, user), message=f"{user} to read /metrics")
    yield token
    admin_client.delete(CLUSTER_ROLE_BINDINGS, binding["metadata"]["name"])


def test_a_scrape_without_a_token_is_unauthorized(scraper: Scraper) -> None:
    assert scraper.get() == (401, "Unauthorized\n")


def test_a_token_the_api_server_does_not_know_is_unauthorized(scraper: Scraper) -> None:
    assert scraper.get(token="not-a-real-token")[0] == 401


def test_an_authenticated_identity_without_the_reader_role_is_forbidden(
    scraper: Scraper, admin_client: Client, namespace: str
) -> None:
    token = token_of(admin_client, namespace, "stranger")
    status, body = scraper.get(token=token)
    assert status == 403
    assert f"Authorization denied for user system:serviceaccount:{namespace}:stranger" in body
    assert "demo_scrapes" not in body


def test_the_metrics_reader_may_scrape_metrics_and_nothing_else(
    scraper: Scraper, reader_token: str
) -> None:
    status, body = scraper.get(token=reader_token)
    assert status == 200
    assert "demo_scrapes_total 1.0" in body
    # the role names one non-resource URL: any other path is refused before it is looked up
    assert scraper.get("/debug/pprof", token=reader_token)[0] == 403
    # the answer is cached: a second scrape needs no new review and gives the same answer
    assert scraper.get(token=reader_token)[0] == 200
