"""The controller checks a spec against the generated schema (api/.../validation.py) and must decide
exactly as the pydantic models it was generated from: valid or not, and where. Each case changes one
field of a complete spec; the two verdicts are compared, never hard-coded."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from api.workflowexecution.v1alpha1 import WorkflowExecutionSpec
from api.workflowexecution.v1alpha1.validation import (
    UntranslatedRuleError,
    cel_equivalent,
    compile_schema,
    spec_problem,
)
from api.workflowexecution.v1alpha1.zz_generated_spec_schema import SPEC_SCHEMA

DIGEST = f"sha256:{'ab' * 32}"
MISSING = object()


def complete_spec() -> dict[str, Any]:
    return {
        "remediationRequestRef": {
            "apiVersion": "remediation.kubernaut.ai/v1alpha1",
            "kind": "RemediationRequest",
            "name": "rr-1",
            "namespace": "payment",
            "uid": "u-1",
        },
        "workflowRef": {
            "workflowId": "restart",
            "version": "1.0.0",
            "containerImage": "quay.io/kubernaut/restart:v1",
            "containerDigest": DIGEST,
            "executionEngine": "job",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 2}},
        },
        "targetResource": "payment/deployment/api",
        "parameters": {"NAMESPACE": "payment", "REPLICAS": "3"},
        "confidence": 0.9,
        "rationale": "memory leak",
        "executionConfig": {"timeout": "30m", "serviceAccountName": "remediator"},
    }


# (dotted path, value): the one change a case makes; MISSING deletes the field.
CASES: dict[str, tuple[str, Any]] = {
    "complete": ("rationale", "as it is"),
    "no remediationRequestRef": ("remediationRequestRef", MISSING),
    "no workflowRef": ("workflowRef", MISSING),
    "no targetResource": ("targetResource", MISSING),
    "no request name": ("remediationRequestRef.name", MISSING),
    "null request name": ("remediationRequestRef.name", None),
    "empty request name": ("remediationRequestRef.name", ""),
    "no workflowId": ("workflowRef.workflowId", MISSING),
    "empty workflowId": ("workflowRef.workflowId", ""),
    "workflowId of 253": ("workflowRef.workflowId", "w" * 253),
    "workflowId of 254": ("workflowRef.workflowId", "w" * 254),
    "empty version": ("workflowRef.version", ""),
    "no containerImage": ("workflowRef.containerImage", MISSING),
    "image without registry": ("workflowRef.containerImage", "restart:v1"),
    "image with upper-case path": ("workflowRef.containerImage", "quay.io/Kubernaut/restart"),
    "image with a final newline": ("workflowRef.containerImage", "quay.io/kubernaut/restart\n"),
    "image on localhost with port": ("workflowRef.containerImage", "localhost:5000/a/b@" + DIGEST),
    "digest not sha256": ("workflowRef.containerDigest", "md5:abc"),
    "digest upper-case": ("workflowRef.containerDigest", DIGEST.upper()),
    "null digest": ("workflowRef.containerDigest", None),
    "unknown engine": ("workflowRef.executionEngine", "argo"),
    "tekton with resources": ("workflowRef.executionEngine", "tekton"),
    "no engine with resources": ("workflowRef.executionEngine", MISSING),
    "tekton without resources": ("workflowRef.resources", MISSING),
    "resource name upper-case": ("workflowRef.resources.requests", {"CPU": "1"}),
    "extended resource name": ("workflowRef.resources.limits", {"vendor.example/gpu": 1}),
    "quantity not a quantity": ("workflowRef.resources.requests", {"cpu": "1x"}),
    "quantity a fraction": ("workflowRef.resources.requests", {"cpu": 1.5}),
    "quantity an object": ("workflowRef.resources.requests", {"cpu": {"m": 100}}),
    "17 resources": ("workflowRef.resources.requests", {f"r{i}": 1 for i in range(17)}),
    "16 resources": ("workflowRef.resources.requests", {f"r{i}": 1 for i in range(16)}),
    "workflowRef a string": ("workflowRef", "restart"),
    "target upper-case": ("targetResource", "Payment/Deployment/api"),
    "target cluster-scoped": ("targetResource", "node/worker-1"),
    "target with four parts": ("targetResource", "a/b/c/d"),
    "target a number": ("targetResource", 7),
    "target too long": ("targetResource", "ns/deployment/" + "a" * 368),
    "parameter name lower-case": ("parameters", {"namespace": "payment"}),
    "parameter name with a dash": ("parameters", {"A-B": "x"}),
    "parameter value a number": ("parameters", {"REPLICAS": 3}),
    "parameter value of 32 KiB": ("parameters", {"MANIFEST": "x" * 32 * 1024}),
    "parameter value over 32 KiB": ("parameters", {"MANIFEST": "x" * (32 * 1024 + 1)}),
    "64 parameters": ("parameters", {f"P{i}": "" for i in range(64)}),
    "65 parameters": ("parameters", {f"P{i}": "" for i in range(65)}),
    "parameters a list": ("parameters", ["A"]),
    "confidence 0": ("confidence", 0),
    "confidence 1": ("confidence", 1),
    "confidence below 0": ("confidence", -0.1),
    "confidence above 1": ("confidence", 1.5),
    "confidence a word": ("confidence", "high"),
    "rationale a number": ("rationale", 1),
    "timeout 24h": ("executionConfig.timeout", "24h"),
    "timeout 1h30m": ("executionConfig.timeout", "1h30m"),
    "timeout 0s": ("executionConfig.timeout", "0s"),
    "timeout 25h": ("executionConfig.timeout", "25h"),
    "timeout Go cannot hold": ("executionConfig.timeout", "99999999999999999999h"),
    "timeout without unit": ("executionConfig.timeout", "30"),
    "timeout negative": ("executionConfig.timeout", "-1h"),
    "timeout over 64 characters": ("executionConfig.timeout", "1s" * 33),
    "service account with capitals": ("executionConfig.serviceAccountName", "Remediator"),
    "service account of 254": ("executionConfig.serviceAccountName", "a" * 254),
    "null executionConfig": ("executionConfig", None),
    "an unknown field": ("surprise", {"any": "thing"}),
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    spec = complete_spec()
    *parents, leaf = path.split(".")
    node = spec
    for name in parents:
        node = node[name]
    if value is MISSING:
        node.pop(leaf)
    else:
        node[leaf] = copy.deepcopy(value)
    return spec


def models_verdict(spec: dict[str, Any]) -> str | None:
    """None when the models accept the spec, else where their first error is (`spec.a.b`)."""
    try:
        WorkflowExecutionSpec.model_validate(spec)
    except ValidationError as err:
        return ".".join(["spec", *(str(part) for part in err.errors()[0]["loc"])])
    return None


@pytest.mark.parametrize(("path", "value"), CASES.values(), ids=CASES.keys())
def test_the_schema_check_decides_as_the_models(path: str, value: Any) -> None:
    spec = with_change(path, value)
    expected = models_verdict(spec)

    problem = spec_problem(spec)

    if expected is None:
        assert problem is None
    else:
        assert problem is not None, f"the models refuse it at {expected}"
        # the models name a map key or a union branch below where the schema's rule sits
        assert f"{expected}.".startswith(f"{problem.path}."), (expected, problem)
        assert problem.message


def test_the_cases_cover_acceptance_and_refusal() -> None:
    verdicts = [models_verdict(with_change(*case)) for case in CASES.values()]
    assert sum(verdict is None for verdict in verdicts) >= 15
    assert sum(verdict is not None for verdict in verdicts) >= 40


# (pattern, text, whether Go's RE2 finds the pattern in the text, as the API server would decide)
RE2_VERDICTS = [
    ("^app$", "app", True),
    ("^app$", "app\n", False),
    ("[a-z]$", "a\n", False),
    ("^a|b$", "ax", True),
    ("^a|b$", "xb\n", False),
    ("^[$]$", "$", True),
    (r"^\$$", "$", True),
    ("^[]$]$", "]", True),
    ("^[^]]$", "x", True),
]


@pytest.mark.parametrize(("pattern", "text", "re2_matches"), RE2_VERDICTS)
def test_patterns_match_as_the_api_servers_regexp_engine_does(
    pattern: str, text: str, re2_matches: bool
) -> None:
    check = compile_schema({"type": "string", "pattern": pattern})
    assert (check(text, "spec.x") is None) is re2_matches


# Where the schema check and the models differ on purpose: the check reads values with the JSON
# types the API server enforces, where pydantic's lax mode would coerce them.
JSON_TYPED = {
    "confidence a bool": ("confidence", True),
    "confidence a numeric string": ("confidence", "0.5"),
    "quantity a bool": ("workflowRef.resources.limits", {"cpu": True}),
}


@pytest.mark.parametrize(("path", "value"), JSON_TYPED.values(), ids=JSON_TYPED.keys())
def test_values_of_the_wrong_json_type_are_refused_as_the_api_server_refuses_them(
    path: str, value: Any
) -> None:
    problem = spec_problem(with_change(path, value))
    assert problem is not None and problem.path.startswith(f"spec.{path}")


def test_a_broken_rule_is_explained_with_the_crds_message() -> None:
    problem = spec_problem(with_change("workflowRef.executionEngine", "tekton"))
    assert problem is not None
    assert problem.path == "spec.workflowRef"
    assert problem.message == "resources is only supported with executionEngine: job"


def test_parameter_values_are_never_quoted_in_a_problem() -> None:
    secret = "s3cr3t-" + "x" * 32 * 1024
    problem = spec_problem(with_change("parameters", {"TOKEN": secret}))
    assert problem is not None and "s3cr3t" not in problem.message


def rules_of(node: dict[str, Any]) -> list[str]:
    rules = [rule["rule"] for rule in node.get("x-kubernetes-validations", [])]
    children = [*node.get("properties", {}).values()]
    children += [node[key] for key in ("items", "additionalProperties") if key in node]
    return rules + [rule for child in children for rule in rules_of(child)]


def test_every_cel_rule_of_the_schema_has_a_python_equivalent() -> None:
    rules = rules_of(SPEC_SCHEMA)
    assert len(rules) >= 5
    translated = [rule for rule in rules if cel_equivalent(rule) is not None]
    assert len(translated) == len(rules) - 1  # the spec's immutability is the API server's


def test_a_rule_without_an_equivalent_is_refused_when_the_schema_is_compiled() -> None:
    schema = {"type": "string", "x-kubernetes-validations": [{"rule": "size(self) > 2"}]}
    with pytest.raises(UntranslatedRuleError, match="size"):
        compile_schema(schema)
