"""The local control plane is a real API server: RBAC is enforced and Tekton's v1 API is served."""

from __future__ import annotations

import pytest
from support.identities import CONTROLLER_USER

from wfe.runtime.client import ApiError, Client, Resource
from wfe.runtime.envtest import ControlPlane

PIPELINERUNS = Resource("tekton.dev", "v1", "pipelineruns", "PipelineRun")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


def test_tekton_pipelinerun_api_is_served(admin_client: Client) -> None:
    assert admin_client.is_served(PIPELINERUNS)


def test_admin_can_write_and_read_back(admin_client: Client, namespace: str) -> None:
    created = admin_client.create(
        CONFIGMAPS, {"metadata": {"name": "probe", "namespace": namespace}, "data": {"k": "v"}}
    )
    assert created["metadata"]["uid"]
    assert admin_client.get(CONFIGMAPS, "probe", namespace)["data"] == {"k": "v"}


def test_rbac_denies_what_the_controller_identity_was_not_granted(
    control_plane: ControlPlane, namespace: str
) -> None:
    client = control_plane.client(CONTROLLER_USER)
    with pytest.raises(ApiError) as denied:
        client.list(CONFIGMAPS, namespace)
    assert denied.value.status == 403
