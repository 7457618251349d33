"""Every message mirrored into a WorkflowExecution is bounded and free of control characters, and
Tekton's verdict is mapped onto the three values the schema allows (SPEC §2)."""

from __future__ import annotations

from typing import Any

import pytest

from wfe.controller.engines.tekton import pipeline_run_summary
from wfe.controller.messages import MIRRORED_MESSAGE_MAX_BYTES, mirrored_message


def test_a_short_clean_message_is_kept_as_it_is() -> None:
    text = "task build failed:\n\tstep exited 1 — ünïcode kept"
    assert mirrored_message(text) == text


def test_control_characters_are_stripped_but_lines_and_tabs_kept() -> None:
    text = "red \x1b[31malert\x1b[0m\r\nline two\x00\x7f\x9b\tend"
    # terminal escapes go whole (wfe.controller.sanitize), not just their ESC byte
    assert mirrored_message(text) == "red alert\nline two\tend"


def test_a_megabyte_message_is_cut_to_4_kib_of_utf8_on_a_character_boundary() -> None:
    text = "é" * 1_000_000  # two bytes each: a naive byte cut would split one
    cut = mirrored_message(text)
    assert len(cut.encode("utf-8")) <= MIRRORED_MESSAGE_MAX_BYTES
    assert cut.endswith("…")
    assert set(cut[:-1]) == {"é"}


def test_a_message_of_exactly_the_limit_is_not_marked_as_cut() -> None:
    text = "x" * MIRRORED_MESSAGE_MAX_BYTES
    assert mirrored_message(text) == text


def _pipeline_run(condition: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "pr"}, "status": {"conditions": [condition]}}


@pytest.mark.parametrize("tekton_status", ["Maybe", "", "true", None, 1, ["True"]])
def test_a_tekton_status_outside_true_false_unknown_is_mirrored_as_unknown(
    tekton_status: object,
) -> None:
    summary = pipeline_run_summary(
        _pipeline_run({"type": "Succeeded", "status": tekton_status, "reason": "Running"})
    )
    assert summary["status"] == "Unknown"


@pytest.mark.parametrize("tekton_status", ["True", "False", "Unknown"])
def test_the_three_valid_statuses_are_mirrored_unchanged(tekton_status: str) -> None:
    summary = pipeline_run_summary(_pipeline_run({"type": "Succeeded", "status": tekton_status}))
    assert summary["status"] == tekton_status


def test_the_mirrored_pipeline_run_message_and_reason_are_bounded_and_clean() -> None:
    summary = pipeline_run_summary(
        _pipeline_run(
            {
                "type": "Succeeded",
                "status": "Unknown",
                "reason": "R" * 5000,
                "message": "Tasks Completed: 2 \x1b]0;pwned\x07" + "m" * 500_000,
            }
        )
    )
    assert len(summary["message"].encode()) <= MIRRORED_MESSAGE_MAX_BYTES
    assert "\x1b" not in summary["message"] and "\x07" not in summary["message"]
    assert len(summary["reason"].encode()) <= 1024
    assert summary["completedTasks"] == 2
