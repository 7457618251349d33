"""The controller runs as a ServiceAccount of its own test, with exactly the project's rules.

Each test gets a fresh ServiceAccount (a TokenRequest token) and config/rbac's rules in only the
namespaces its controller uses: the ClusterRole (WorkflowExecutions, Events) bound in the watched
namespace, and the execution Role (Tekton) copied unchanged into the test's execution namespace and
bound there, which is how a deployment moves its execution namespace. A permission missing from
config/rbac fails these tests, a test can withhold one, and bindings other tests install for the
shared controller identity change nothing here.
"""

from __future__ import annotations

import copy
from typing import Any, Final

import yaml
from support.rbac import CONTROLLER_RBAC_DIR, EXECUTION_ROLE, RESOURCES_BY_KIND, apply
from support.wait import wait_for

from wfe.runtime.client import ApiError, Client, Resource, is_forbidden

SERVICE_ACCOUNT: Final = "workflowexecution-controller"
SERVICE_ACCOUNTS: Final = RESOURCES_BY_KIND["ServiceAccount"]

Object = dict[str, Any]


def install_controller_cluster_role(admin: Client) -> str:
    """Creates (or refreshes) the project's ClusterRole; returns its name."""
    role: Object = yaml.safe_load((CONTROLLER_RBAC_DIR / "role.yaml").read_text())
    apply(admin, role)
    return str(role["metadata"]["name"])


class ControllerRbac:
    """A per-test controller identity, granted the project's ClusterRole (or less) per namespace."""

    def __init__(self, admin: Client, namespace: str, cluster_role: str):
        self._admin = admin
        self._cluster_role = cluster_role
        self._subject = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}
        admin.create(
            SERVICE_ACCOUNTS, {"metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace}}
        )
        answer = admin.request(
            "POST",
            SERVICE_ACCOUNTS.path(namespace, SERVICE_ACCOUNT, "token"),
            body={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": 3600},
            },
        )
        self._configuration = copy.deepcopy(admin.configuration)
        self._configuration.refresh_api_key_hook = None  # it would reload the admin's token
        self._configuration.api_key = {"authorization": f"Bearer {answer['status']['token']}"}
        self._configuration.api_key_prefix = {}

    def configuration(self) -> Any:
        """A fresh client configuration authenticating as the controller's ServiceAccount."""
        return copy.deepcopy(self._configuration)

    def client(self) -> Client:
        return Client(self.configuration())

    def grant(self, namespace: str) -> None:
        """Binds the project's ClusterRole in ``namespace`` (a watched namespace). Idempotent."""
        self._bind(namespace, "ClusterRole", self._cluster_role)

    def grant_execution(self, namespace: str) -> None:
        """config/rbac's execution Role (Tekton), moved to ``namespace`` and bound. Idempotent."""
        role = copy.deepcopy(EXECUTION_ROLE)
        role["metadata"]["namespace"] = namespace
        apply(self._admin, role)
        self._bind(namespace, "Role", role["metadata"]["name"])

    def grant_rules(self, namespace: str, rules: list[Object]) -> None:
        """Binds a Role with only ``rules`` in ``namespace`` (to withhold a permission)."""
        name = f"{SERVICE_ACCOUNT}-restricted"
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name, "namespace": namespace},
            "rules": rules,
        }
        apply(self._admin, role)
        self._bind(namespace, "Role", name)

    def wait_until_allowed(self, resource: Resource, namespace: str) -> None:
        """RBAC changes reach the authorizer through an informer: wait until a list is allowed."""
        client = self.client()

        def allowed() -> bool:
            try:
                client.list(resource, namespace, limit=1)
            except ApiError as err:
                if is_forbidden(err):
                    return False
                raise
            return True

        wait_for(allowed, 10, message=f"the controller's ServiceAccount to list {resource}")

    def _bind(self, namespace: str, kind: str, role: str) -> None:
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{role}-binding", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": [self._subject],
        }
        apply(self._admin, binding)
