"""Text copied from Tekton into status, Events and the summary carries no terminal escapes, no bidi
controls and no other control characters, but keeps what a reader needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wfe.controller.engines.tekton import pipeline_run_summary
from wfe.controller.failure.details import failure_details
from wfe.controller.messages import MIRRORED_MESSAGE_MAX_BYTES
from wfe.controller.sanitize import sanitize_text

from .tekton_fixtures import pipeline_run, step, task_run


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain message", "plain message"),
        ("unicode survives: 日本語 ✓ café", "unicode survives: 日本語 ✓ café"),
        ("two\nlines\tand a tab", "two\nlines\tand a tab"),
        ("windows\r\nline end", "windows\nline end"),
        # a lone carriage return would overwrite the start of the line on a terminal
        ("harmless\rEVIL", "harmlessEVIL"),
        # colours and cursor movement (CSI)
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("hide\x1b[2K\x1b[1Aprevious line", "hideprevious line"),
        ("8-bit CSI \x9b31mred", "8-bit CSI red"),
        # window title and hyperlinks (OSC, terminated by BEL or ST, or not at all)
        ("\x1b]0;pwned\x07title", "title"),
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("unterminated \x1b]0;title", "unterminated "),
        # device control strings and other escapes
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
        ("keypad\x1b=mode\x1b(B", "keypadmode"),
        ("stray escape at the end\x1b", "stray escape at the end"),
        # Trojan Source: bidi overrides, isolates and marks
        ("access \u202egranted\u202c", "access granted"),
        ("\u2066isolated\u2069 \u2067rtl\u2069 \u2068first\u2069", "isolated rtl first"),
        ("marks\u200e\u200f\u061c", "marks"),
        # other C0/C1 controls and DEL
        ("nul\x00 bell\x07 del\x7f c1\x85", "nul bell del c1"),
        ("", ""),
    ],
)
def test_sanitize_text(raw: str, clean: str) -> None:
    assert sanitize_text(raw) == clean


HOSTILE = "\x1b]0;owned\x07\x1b[2Kstep \u202efailed\u202c: \x1b[31mdisk full\x1b[0m"


def test_failure_details_and_summary_from_tekton_are_sanitised() -> None:
    broken = task_run(
        "apply",
        status="False",
        reason="Failed",
        message=HOSTILE,
        steps=[step("apply", exit_code=1)],
    )
    pr = pipeline_run(reason="Failed", message=HOSTILE, task_runs=[broken])

    details = failure_details(pr, [broken], datetime(2025, 3, 1, 10, 5, tzinfo=UTC))

    assert details["message"] == "step failed: disk full"
    assert "step failed: disk full" in details["naturalLanguageSummary"]
    for text in (details["message"], details["naturalLanguageSummary"]):
        assert "\x1b" not in text and "\u202e" not in text


def test_mirrored_pipeline_run_status_is_sanitised_and_cut_to_4_kib() -> None:
    pr = pipeline_run(reason="\x1b[1mFailed", message=HOSTILE + "x" * 10_000)

    summary = pipeline_run_summary(pr)

    assert summary["reason"] == "Failed"
    assert summary["message"].startswith("step failed: disk full")
    assert len(summary["message"].encode()) <= MIRRORED_MESSAGE_MAX_BYTES
    assert summary["message"].endswith("…")
