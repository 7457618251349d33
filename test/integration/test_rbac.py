"""config/rbac on a real API server: the controller's ServiceAccount may do what SPEC §11 lists and
nothing else, as the server's own RBAC authorizer answers it (SelfSubjectAccessReview) and as real
requests show: Tekton only in the execution namespace, leader election only on its own Lease."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import pytest
from support.identities import CONTROLLER_USER
from support.rbac import CONTROLLER_LEASE, EXECUTION_NAMESPACE, apply_controller_rbac

from wfe.controller.resources import PIPELINE_RUNS
from wfe.runtime.client import LEASES, ApiError, Client, Object, Resource
from wfe.runtime.envtest import ControlPlane

CONTROLLER_NAMESPACE = "kubernaut-system"
WFE_GROUP = "workflowexecution.kubernaut.ai"
TEKTON_GROUP = "tekton.dev"

SELF_SUBJECT_ACCESS_REVIEWS = Resource(
    "authorization.k8s.io",
    "v1",
    "selfsubjectaccessreviews",
    "SelfSubjectAccessReview",
    namespaced=False,
)
SECRETS = Resource("", "v1", "secrets", "Secret")


class Access(NamedTuple):
    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""  # empty: all namespaces (a cluster-wide list/watch) or cluster-scoped
    name: str = ""  # empty: any object

    def __str__(self) -> str:
        name = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        what = f" {self.name}" if self.name else ""
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {name}.{self.group or 'core'}{what}{where}"


NEEDED = [
    *(Access(verb, WFE_GROUP, "workflowexecutions") for verb in ("list", "watch")),
    *(
        Access(verb, WFE_GROUP, "workflowexecutions", namespace="payments")
        for verb in ("get", "update", "patch")
    ),
    *(
        Access(verb, WFE_GROUP, "workflowexecutions", "status", "payments")
        for verb in ("get", "update", "patch")
    ),
    Access("update", WFE_GROUP, "workflowexecutions", "finalizers", "payments"),
    *(
        Access(verb, TEKTON_GROUP, "pipelineruns", namespace=EXECUTION_NAMESPACE)
        for verb in ("create", "get", "list", "watch", "delete")
    ),
    *(
        Access(verb, TEKTON_GROUP, "taskruns", namespace=EXECUTION_NAMESPACE)
        for verb in ("get", "list", "watch")
    ),
    # the Job engine: Jobs are the lock, their pods explain a failure
    *(
        Access(verb, "batch", "jobs", namespace=EXECUTION_NAMESPACE)
        for verb in ("create", "get", "list", "watch", "delete")
    ),
    *(Access(verb, "", "pods", namespace=EXECUTION_NAMESPACE) for verb in ("get", "list")),
    *(Access(verb, "", "events", namespace="payments") for verb in ("create", "patch")),
    *(
        Access(verb, "coordination.k8s.io", "leases", namespace=CONTROLLER_NAMESPACE, name=name)
        for verb, name in (
            ("get", CONTROLLER_LEASE),
            ("update", CONTROLLER_LEASE),
            ("create", ""),
        )
    ),
    # authenticated /metrics: TokenReview and SubjectAccessReview of each scraper
    Access("create", "authentication.k8s.io", "tokenreviews"),
    Access("create", "authorization.k8s.io", "subjectaccessreviews"),
]

FORBIDDEN = [
    Access("get", "", "secrets", namespace=CONTROLLER_NAMESPACE),
    Access("list", "", "secrets"),
    Access("delete", "", "pods", namespace=EXECUTION_NAMESPACE),
    Access("update", TEKTON_GROUP, "pipelineruns", namespace=EXECUTION_NAMESPACE),
    Access("patch", TEKTON_GROUP, "pipelineruns", namespace=EXECUTION_NAMESPACE),
    Access("update", TEKTON_GROUP, "pipelineruns", "status", EXECUTION_NAMESPACE),
    Access("create", TEKTON_GROUP, "taskruns", namespace=EXECUTION_NAMESPACE),
    Access("create", WFE_GROUP, "workflowexecutions", namespace="payments"),
    Access("delete", WFE_GROUP, "workflowexecutions", namespace="payments"),
    Access("list", "", "configmaps"),
    Access("delete", "coordination.k8s.io", "leases", namespace=CONTROLLER_NAMESPACE),
    # The leader-election Role is namespaced and names its Lease: other Leases are out of reach.
    Access("update", "coordination.k8s.io", "leases", namespace="kube-system"),
    *(
        Access(verb, "coordination.k8s.io", "leases", namespace=CONTROLLER_NAMESPACE, name=name)
        for verb in ("get", "update")
        for name in ("other-controller", "")
    ),
    Access("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
    # Creating a PipelineRun creates pods as a ServiceAccount: only in the execution namespace.
    *(Access(verb, TEKTON_GROUP, "pipelineruns") for verb in ("list", "watch", "create")),
    *(
        Access(verb, TEKTON_GROUP, "pipelineruns", namespace=namespace)
        for verb in ("create", "delete", "get")
        for namespace in ("payments", CONTROLLER_NAMESPACE, "kube-system")
    ),
    *(Access(verb, TEKTON_GROUP, "taskruns") for verb in ("list", "watch")),
    Access("get", TEKTON_GROUP, "taskruns", namespace="payments"),
    # a Job runs pods as a ServiceAccount too: only in the execution namespace, never updated
    *(Access(verb, "batch", "jobs") for verb in ("list", "watch", "create")),
    *(Access(verb, "batch", "jobs", namespace="payments") for verb in ("create", "delete")),
    *(Access(verb, "batch", "jobs", namespace=EXECUTION_NAMESPACE) for verb in ("update", "patch")),
    Access("create", "", "pods", namespace=EXECUTION_NAMESPACE),
    Access("watch", "", "pods", namespace=EXECUTION_NAMESPACE),
    Access("list", "", "pods"),
]


@pytest.fixture(scope="module")
def controller_client(control_plane: ControlPlane, admin_client: Client) -> Client:
    apply_controller_rbac(admin_client)
    return control_plane.client(CONTROLLER_USER)


def may(client: Client, access: Access) -> bool:
    attributes = {
        "verb": access.verb,
        "group": access.group,
        "resource": access.resource,
        "subresource": access.subresource,
        "namespace": access.namespace,
        "name": access.name,
    }
    review = client.create(
        SELF_SUBJECT_ACCESS_REVIEWS,
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {k: v for k, v in attributes.items() if v}},
        },
    )
    return bool(review["status"].get("allowed"))


@pytest.mark.parametrize("access", NEEDED, ids=str)
def test_controller_may_do_what_it_needs(controller_client: Client, access: Access) -> None:
    assert may(controller_client, access), f"the controller needs to {access}"


@pytest.mark.parametrize("access", FORBIDDEN, ids=str)
def test_controller_may_not_do_more(controller_client: Client, access: Access) -> None:
    assert not may(controller_client, access), f"the controller must not {access}"


def lease(name: str) -> Object:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": CONTROLLER_NAMESPACE},
        "spec": {"holderIdentity": "rbac-probe", "leaseDurationSeconds": 15},
    }


def pipeline_run(namespace: str) -> Object:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": f"rbac-probe-{uuid.uuid4().hex[:8]}", "namespace": namespace},
        "spec": {"pipelineRef": {"name": "workflow"}},
    }


def test_controller_may_take_and_renew_its_own_lease(
    controller_client: Client, admin_client: Client
) -> None:
    if admin_client.get_or_none(LEASES, CONTROLLER_LEASE, CONTROLLER_NAMESPACE) is not None:
        admin_client.delete(LEASES, CONTROLLER_LEASE, CONTROLLER_NAMESPACE)
    created = controller_client.create(LEASES, lease(CONTROLLER_LEASE))
    created["spec"]["leaseDurationSeconds"] = 30
    assert controller_client.update(LEASES, created)["spec"]["leaseDurationSeconds"] == 30
    assert controller_client.get(LEASES, CONTROLLER_LEASE, CONTROLLER_NAMESPACE)
    admin_client.delete(LEASES, CONTROLLER_LEASE, CONTROLLER_NAMESPACE)


def test_controller_is_refused_another_controllers_lease(
    controller_client: Client, admin_client: Client
) -> None:
    name = f"other-controller-{uuid.uuid4().hex[:8]}"
    theirs = admin_client.create(LEASES, lease(name))
    try:
        with pytest.raises(ApiError) as read:
            controller_client.get(LEASES, name, CONTROLLER_NAMESPACE)
        theirs["spec"]["holderIdentity"] = "usurper"
        with pytest.raises(ApiError) as taken:
            controller_client.update(LEASES, theirs)
        assert (read.value.status, taken.value.status) == (403, 403)
        holder = admin_client.get(LEASES, name, CONTROLLER_NAMESPACE)["spec"]["holderIdentity"]
        assert holder == "rbac-probe"
    finally:
        admin_client.delete(LEASES, name, CONTROLLER_NAMESPACE)


def test_controller_is_refused_a_pipeline_run_outside_the_execution_namespace(
    controller_client: Client, admin_client: Client, namespace: str
) -> None:
    with pytest.raises(ApiError) as refused:
        controller_client.create(PIPELINE_RUNS, pipeline_run(namespace))
    assert refused.value.status == 403
    assert admin_client.list(PIPELINE_RUNS, namespace)["items"] == []
    with pytest.raises(ApiError) as listed:
        controller_client.list(PIPELINE_RUNS)
    assert listed.value.status == 403
    # the same request in the execution namespace is allowed
    created = controller_client.create(PIPELINE_RUNS, pipeline_run(EXECUTION_NAMESPACE))
    controller_client.delete(PIPELINE_RUNS, created["metadata"]["name"], EXECUTION_NAMESPACE)


def test_reading_a_secret_is_refused(controller_client: Client) -> None:
    with pytest.raises(ApiError) as refused:
        controller_client.get(SECRETS, "anything", CONTROLLER_NAMESPACE)
    assert refused.value.status == 403


def test_applying_the_rbac_twice_is_harmless(
    admin_client: Client, controller_client: Client
) -> None:
    apply_controller_rbac(admin_client)
    assert may(controller_client, NEEDED[0])
