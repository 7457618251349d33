"""The PipelineRun name is the cross-controller lock; label values must always be accepted."""

from __future__ import annotations

import re

import pytest

from wfe.controller.naming import is_valid_label_value, pipeline_run_name, sanitize_label_value

# The API server's label value rule (k8s.io/apimachinery validation.IsValidLabelValue).
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("payment/deployment/payment-api", "wfe-cf0cc089293b1165"),
        ("node/worker-node-1", "wfe-ac45b7d6911e97a5"),
    ],
)
def test_pipeline_run_name_matches_the_documented_lock_names(target: str, expected: str) -> None:
    assert pipeline_run_name(target) == expected


def test_different_targets_get_different_lock_names() -> None:
    assert pipeline_run_name("ns/deployment/a") != pipeline_run_name("ns/deployment/b")


def test_pipeline_run_name_is_a_valid_dns_label() -> None:
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", pipeline_run_name("x/y/z"))


@pytest.mark.parametrize(
    "value",
    ["restart-pod-v1", "scale_deployment.v2", "A1", "x" * 63],
)
def test_valid_label_values_are_kept_unchanged(value: str) -> None:
    assert sanitize_label_value(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("oom/increase memory", "oom-increase-memory"),
        ("-leading-and-trailing-", "leading-and-trailing"),
        ("_.wrapped._", "wrapped"),
        ("héllo", "h-llo"),
        ("", ""),
    ],
)
def test_invalid_characters_and_edges_are_cleaned(value: str, expected: str) -> None:
    assert sanitize_label_value(value) == expected


@pytest.mark.parametrize(
    "value",
    ["a" * 64, "b" * 300, "x-" * 40, "___", "日本語", "ends-with-dash" + "-" * 60 + "z" * 10],
)
def test_any_input_yields_a_valid_label_value(value: str) -> None:
    sanitized = sanitize_label_value(value)
    assert len(sanitized) <= 63
    assert LABEL_VALUE.fullmatch(sanitized)
    assert sanitized, "a non-empty workflow id must never become an empty label"


def test_truncated_values_sharing_a_prefix_stay_distinct() -> None:
    prefix = "remediation-workflow-" * 4
    first, second = sanitize_label_value(prefix + "one"), sanitize_label_value(prefix + "two")
    assert first != second
    assert first.startswith(prefix[:40])


def test_sanitizing_is_deterministic() -> None:
    value = "some/odd value " * 10
    assert sanitize_label_value(value) == sanitize_label_value(value)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("wfe-restart-payment", True),
        ("", True),
        ("x" * 63, True),
        ("x" * 64, False),
        ("a b", False),
    ],
)
def test_is_valid_label_value(value: str, valid: bool) -> None:
    assert is_valid_label_value(value) is valid
