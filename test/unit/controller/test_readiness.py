"""/readyz reports a Tekton PipelineRun API that disappeared, asking at most every 30 s (SPEC §8);
and a failing create names the missing prerequisite (SPEC §7)."""

from __future__ import annotations

from typing import Any, cast

from wfe.controller.phases.pending import missing_prerequisite
from wfe.controller.readiness import ServedApiCheck
from wfe.runtime.client import ApiError, Client, Resource


class Discovery:
    """Answers ``is_served`` like the API server's discovery, counting the questions."""

    def __init__(self) -> None:
        self.served = True
        self.asked = 0

    def is_served(self, resource: Resource) -> bool:
        self.asked += 1
        return self.served


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def check() -> tuple[ServedApiCheck, Discovery, Clock]:
    discovery, clock = Discovery(), Clock()
    return ServedApiCheck(cast(Client, discovery), clock=clock), discovery, clock


def test_ready_while_tekton_is_served() -> None:
    probe, discovery, _ = check()
    assert probe() is None
    assert discovery.asked == 1


def test_tekton_removed_at_run_time_makes_the_pod_unready_within_30_seconds() -> None:
    probe, discovery, clock = check()
    assert probe() is None
    discovery.served = False
    clock.now += 10
    assert probe() is None  # cached: probes every few seconds must stay cheap
    clock.now += 20
    problem = probe()
    assert problem is not None and "Tekton Pipelines must be installed" in problem
    assert discovery.asked == 2


def test_an_api_error_is_reported_not_raised() -> None:
    probe, discovery, _ = check()

    def broken(resource: Resource) -> bool:
        raise ApiError(503, "ServiceUnavailable", "etcd is down")

    discovery.is_served = broken  # type: ignore[method-assign]
    problem = probe()
    assert problem is not None and "etcd is down" in problem


def not_found(details: dict[str, Any]) -> ApiError:
    return ApiError(404, "NotFound", "not found", {"details": details})


def test_a_missing_namespace_and_a_missing_tekton_api_are_configuration_problems() -> None:
    namespace = missing_prerequisite(
        not_found({"name": "kubernaut-workflows", "kind": "namespaces"}), "kubernaut-workflows"
    )
    assert namespace is not None and "kubernaut-workflows does not exist" in namespace
    tekton = missing_prerequisite(not_found({}), "kubernaut-workflows")
    assert tekton is not None and "Tekton" in tekton


def test_api_server_trouble_is_not_a_configuration_problem() -> None:
    assert missing_prerequisite(ApiError(503, "ServiceUnavailable", "x"), "ns") is None
    assert missing_prerequisite(ApiError(0, "ApiConnectionError", "refused"), "ns") is None
