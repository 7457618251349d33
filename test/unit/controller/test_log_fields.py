"""Every line of a reconcile carries the WFE's correlation_id (SPEC §8): its RemediationRequest."""

from __future__ import annotations

from wfe.controller.reconciler import correlation_id_of


def test_the_correlation_id_is_the_remediation_requests_name() -> None:
    assert correlation_id_of({"spec": {"remediationRequestRef": {"name": "rr-payment-oom"}}}) == (
        "rr-payment-oom"
    )
    assert correlation_id_of({"spec": {}}) == ""
    assert correlation_id_of({"spec": {"remediationRequestRef": "not-an-object"}}) == ""
    assert correlation_id_of({"spec": {"remediationRequestRef": {"name": 7}}}) == ""
