"""config/prometheus/alerts.yaml: every alert is unit-tested by promtool (firing and quiet series)
and links a section of docs/runbook.md that exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "config" / "prometheus" / "alerts.yaml"
PROMTOOL_TESTS = Path(__file__).with_name("alerts_test.yaml")
RUNBOOK = REPO / "docs" / "runbook.md"
SEVERITIES = {"critical", "warning"}  # page, ticket


def groups() -> list[dict[str, Any]]:
    rule: dict[str, Any] = yaml.safe_load(RULES.read_text())
    assert rule["kind"] == "PrometheusRule"
    found: list[dict[str, Any]] = rule["spec"]["groups"]
    return found


def alerts() -> list[dict[str, Any]]:
    return [r for g in groups() for r in g["rules"] if "alert" in r]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runbook_anchors() -> set[str]:
    anchors, in_code = set(), False
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif line.startswith("#") and not in_code:
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: str(a["alert"]))
def test_every_alert_says_how_urgent_it_is_and_links_its_runbook_section(
    alert: dict[str, Any],
) -> None:
    assert alert["labels"]["severity"] in SEVERITIES
    annotations = alert["annotations"]
    assert annotations["summary"] and annotations["description"]
    document, _, anchor = annotations["runbook_url"].partition("#")
    assert document == "docs/runbook.md"
    assert anchor == github_anchor(alert["alert"]) and anchor in runbook_anchors()


def test_every_alert_has_series_that_fire_it_and_series_that_must_not() -> None:
    unit_tests = yaml.safe_load(PROMTOOL_TESTS.read_text())["tests"]
    checks = [c for t in unit_tests for c in t["alert_rule_test"]]
    untested = [
        a["alert"]
        for a in alerts()
        if not any(c["alertname"] == a["alert"] and c["exp_alerts"] for c in checks)
        or not any(c["alertname"] == a["alert"] and not c["exp_alerts"] for c in checks)
    ]
    assert untested == []


@pytest.fixture
def promtool() -> str:
    path = os.environ.get("WFE_PROMTOOL")
    if not path:
        pytest.skip(
            "WFE_PROMTOOL is not set: `make test` builds promtool (hack/build-promtool.sh) and "
            "sets it; a plain pytest run has no promtool to run the alert unit tests with"
        )
    assert shutil.which(path), f"WFE_PROMTOOL={path} is not an executable"
    return path


def test_promtool_accepts_the_rules_and_passes_their_unit_tests(
    promtool: str, tmp_path: Path
) -> None:
    (tmp_path / "alerts.rules.yaml").write_text(yaml.safe_dump({"groups": groups()}))
    shutil.copy(PROMTOOL_TESTS, tmp_path / PROMTOOL_TESTS.name)

    check = subprocess.run(
        [promtool, "check", "rules", "alerts.rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [promtool, "test", "rules", PROMTOOL_TESTS.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr
