"""What the controller learns from the real API server's discovery: kind names for lock keys,
built-in kinds and CRDs alike (SPEC §3), and whether Tekton is still served (/readyz, SPEC §8)."""

from __future__ import annotations

import pytest

from wfe.controller.readiness import ServedApiCheck
from wfe.controller.resources import PIPELINE_RUNS
from wfe.controller.targets import KindNames
from wfe.runtime.client import Client, Resource


@pytest.fixture(scope="module")
def kinds(admin_client: Client) -> KindNames:
    return KindNames.discover(admin_client)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("deployments", "deployment"),
        ("deploy", "deployment"),
        ("deployment", "deployment"),
        ("nodes", "node"),
        ("no", "node"),
        ("po", "pod"),
        ("sts", "statefulset"),
        ("cm", "configmap"),
        ("pipelineruns", "pipelinerun"),  # a CRD (Tekton's)
        ("wfe", "workflowexecution"),  # our own CRD's short name
    ],
)
def test_discovery_maps_plural_and_short_names_to_the_singular_kind(
    kinds: KindNames, written: str, canonical: str
) -> None:
    assert kinds.canonical_kind(written) == canonical


def test_a_kind_the_server_does_not_serve_is_kept_as_written(kinds: KindNames) -> None:
    assert kinds.key("fz/widgets/app") == "fz/widgets/app"


def test_readyz_sees_the_pipeline_run_api_served_and_an_absent_api_not(
    admin_client: Client,
) -> None:
    assert ServedApiCheck(admin_client, PIPELINE_RUNS)() is None
    gone = Resource("tekton.dev", "v1", "pipelinerunz", "PipelineRunz")
    problem = ServedApiCheck(admin_client, gone)()
    assert problem is not None and "no longer served" in problem
