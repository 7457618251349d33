"""The committed CRD is exactly what hack/gen_crd.py generates from the models, and the generator
refuses model constructs a structural CRD schema cannot express."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pytest
import yaml
from pydantic import BaseModel, Field, StringConstraints

REPO_ROOT = Path(__file__).resolve().parents[3]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_crd", REPO_ROOT / "hack" / "gen_crd.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_crd = _load_generator()


def test_committed_crd_and_spec_schema_match_the_models() -> None:
    diff = gen_crd.drift()
    assert not diff, f"generated files drifted from the models; run `make manifests`:\n{diff}"


def test_the_spec_schema_the_controller_checks_is_the_crds(tmp_path: Path) -> None:
    schema_module = tmp_path / "schema.py"
    assert (
        gen_crd.main(
            ["--output", str(tmp_path / "crd.yaml"), "--schema-output", str(schema_module)]
        )
        == 0
    )
    namespace: dict[str, Any] = {}
    exec(schema_module.read_text(encoding="utf-8"), namespace)

    crd_spec = crd_version()["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert namespace["SPEC_SCHEMA"] == gen_crd._without_descriptions(crd_spec)
    assert "description" not in repr(namespace["SPEC_SCHEMA"])


def test_check_mode_fails_when_the_spec_schema_drifts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "schema.py"
    stale.write_text(gen_crd.render_spec_schema().replace("'maxLength': 253", "'maxLength': 254"))

    assert gen_crd.main(["--check", "--schema-output", str(stale)]) == 1
    assert "-                    'maxLength': 254," in capsys.readouterr().out


def test_check_mode_fails_with_a_diff_when_the_file_drifts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "crd.yaml"
    stale.write_text(gen_crd.render().replace("maxLength: 253", "maxLength: 254"), encoding="utf-8")

    assert gen_crd.main(["--check", "--output", str(stale)]) == 1
    out = capsys.readouterr()
    assert "-                    maxLength: 254" in out.out
    assert "make manifests" in out.err


def test_check_mode_passes_on_freshly_written_output(tmp_path: Path) -> None:
    target = ["--output", str(tmp_path / "nested" / "crd.yaml")]
    target += ["--schema-output", str(tmp_path / "nested" / "schema.py")]
    assert gen_crd.main(target) == 0
    assert gen_crd.main(["--check", *target]) == 0


def crd_version() -> dict[str, Any]:
    document = yaml.safe_load(gen_crd.render())
    version: dict[str, Any] = document["spec"]["versions"][0]
    return version


def test_spec_is_immutable_and_status_is_a_subresource() -> None:
    version = crd_version()
    spec_schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec_schema["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    assert version["subresources"] == {"status": {}}


def test_printer_columns_follow_the_spec() -> None:
    columns = {column["name"]: column for column in crd_version()["additionalPrinterColumns"]}
    assert list(columns) == ["Phase", "Target", "WorkflowID", "Duration", "Reason", "Age"]
    assert columns["Reason"]["priority"] == 1
    assert columns["Target"]["jsonPath"] == ".spec.targetResource"


def test_schema_has_no_pydantic_leftovers() -> None:
    text = gen_crd.render()
    for leftover in ("title:", "$ref", "default:", "&id", "*id"):
        assert leftover not in text
    # anyOf only where a structural schema allows it: int-or-string quantities (resources)
    assert text.count("anyOf") == text.count("x-kubernetes-int-or-string: true")


# ------------------------------------------------------------------ what the generator refuses


class _Union(BaseModel):
    value: int | str


class _UncheckedKeys(BaseModel):
    labels: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]+$")], str]


class _OpenMap(BaseModel):
    anything: dict[str, Any]


class _CheckedKeys(BaseModel):
    labels: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]+$")], str] = Field(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self.all(k, k.matches('^[a-z]+$'))", "message": "lower-case keys"}
            ]
        }
    )


@pytest.mark.parametrize(
    ("model", "complaint"),
    [
        (_Union, "alternatives"),
        (_UncheckedKeys, "no CEL rule"),
        (_OpenMap, "additionalProperties"),
    ],
)
def test_generator_refuses_non_structural_constructs(
    model: type[BaseModel], complaint: str
) -> None:
    schema = model.model_json_schema(by_alias=True)
    with pytest.raises(gen_crd.SchemaError, match=complaint):
        gen_crd.structural_schema(schema, schema.get("$defs", {}))


def test_constrained_map_keys_become_a_typed_map_guarded_by_cel() -> None:
    schema = _CheckedKeys.model_json_schema(by_alias=True)
    labels = gen_crd.structural_schema(schema, {})["properties"]["labels"]
    assert labels["additionalProperties"] == {"type": "string"}
    assert labels["x-kubernetes-validations"][0]["message"] == "lower-case keys"
