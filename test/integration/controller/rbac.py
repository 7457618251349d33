"""The controller runs as its own identity with exactly the project's ClusterRole (config/rbac).

Each test binds that ClusterRole, with a RoleBinding, only in the namespaces its controller uses, so
a permission missing from config/rbac/role.yaml fails these tests, and a test can withhold one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml
from support.identities import CONTROLLER_USER
from support.wait import wait_for

from wfe.runtime.client import ApiError, Client, Resource, is_already_exists, is_forbidden
from wfe.runtime.envtest import ControlPlane

RBAC_DIR: Final = Path(__file__).resolve().parents[3] / "config" / "rbac"
CLUSTER_ROLES: Final = Resource(
    "rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False
)
ROLES: Final = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLE_BINDINGS: Final = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")

Object = dict[str, Any]


def install_controller_cluster_role(admin: Client) -> str:
    """Creates (or refreshes) the project's ClusterRole; returns its name."""
    role: Object = yaml.safe_load((RBAC_DIR / "role.yaml").read_text())
    try:
        admin.create(CLUSTER_ROLES, role)
    except ApiError as err:
        if not is_already_exists(err):
            raise
        current = admin.get(CLUSTER_ROLES, role["metadata"]["name"])
        role["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        admin.update(CLUSTER_ROLES, role)
    return str(role["metadata"]["name"])


class ControllerRbac:
    """Grants the controller's identity its ClusterRole (or a custom Role) per namespace."""

    def __init__(self, admin: Client, control_plane: ControlPlane, cluster_role: str):
        self._admin = admin
        self._control_plane = control_plane
        self._cluster_role = cluster_role
        # the subjects of the project's own ClusterRoleBinding: the controller's ServiceAccount
        binding = yaml.safe_load((RBAC_DIR / "role_binding.yaml").read_text())
        self._subjects: list[Object] = binding["subjects"]

    @property
    def kubeconfig(self) -> str:
        return str(self._control_plane.kubeconfig_for(CONTROLLER_USER))

    def client(self) -> Client:
        return self._control_plane.client(CONTROLLER_USER)

    def grant(self, namespace: str) -> None:
        """Binds the project's ClusterRole in ``namespace``. Idempotent."""
        self._bind(namespace, "ClusterRole", self._cluster_role)

    def grant_rules(self, namespace: str, rules: list[Object]) -> None:
        """Binds a Role with only ``rules`` in ``namespace`` (to withhold a permission)."""
        name = "workflowexecution-controller-restricted"
        self._admin.create(
            ROLES,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": rules,
            },
        )
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

        wait_for(allowed, 10, message=f"{CONTROLLER_USER.name} to be allowed {resource}")

    def _bind(self, namespace: str, kind: str, role: str) -> None:
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {
                "name": f"workflowexecution-controller-{kind.lower()}",
                "namespace": namespace,
            },
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": self._subjects,
        }
        try:
            self._admin.create(ROLE_BINDINGS, binding)
        except ApiError as err:
            if not is_already_exists(err):
                raise
