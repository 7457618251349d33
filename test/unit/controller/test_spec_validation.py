"""Defence in depth beyond the CRD (SPEC §3 step 1): an object the schema let through (an older CRD,
a schema edited by hand) ends Failed/ConfigurationError with a message, never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from wfe.controller.phases.pending import validation_problem


def wfe(**execution_config: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "remediate", "namespace": "payment", "uid": "u-1"},
        "spec": {
            "remediationRequestRef": {"name": "rr-1"},
            "workflowRef": {
                "workflowId": "restart",
                "version": "1",
                "containerImage": "quay.io/kubernaut/restart:v1",
            },
            "targetResource": "payment/deployment/api",
            "executionConfig": execution_config,
        },
    }


@pytest.mark.parametrize("timeout", ["3000000h", "99999999999999999999h", "0s", "25h"])
def test_a_timeout_go_cannot_hold_or_out_of_range_is_a_configuration_problem(
    timeout: str,
) -> None:
    problem = validation_problem(wfe(timeout=timeout))
    assert problem is not None
    assert "executionConfig.timeout" in problem and "at most 24h" in problem


def test_a_timeout_within_24h_is_valid() -> None:
    assert validation_problem(wfe(timeout="24h")) is None
