"""Go duration strings: parsing as time.ParseDuration does, formatting as Duration.String does."""

from __future__ import annotations

import re

import pytest

from api.workflowexecution.v1alpha1 import (
    GO_DURATION_PATTERN,
    format_go_duration,
    parse_go_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("30s", 30.0),
        ("30m", 1800.0),
        ("1h30m", 5400.0),
        ("1h0m0s", 3600.0),
        ("2h45m30s", 9930.0),
        ("1.5h", 5400.0),
        ("2.5s", 2.5),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("300ms", 0.3),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),
        ("1500μs", 0.0015),
        ("100ns", 1e-7),
        ("1m1ms", 60.001),
        ("-1m30s", -90.0),
        ("+5m", 300.0),
    ],
)
def test_parse_reads_what_go_reads(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "30", "1d", "m", ".s", "1h 30m", "1H", "-", "5m-3s", "3000000h"],
)
def test_parse_rejects_what_go_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.4, "0s"),
        (0.5, "1s"),
        (1, "1s"),
        (59, "59s"),
        (59.6, "1m0s"),
        (60, "1m0s"),
        (210, "3m30s"),
        (90.5, "1m31s"),
        (3600, "1h0m0s"),
        (5400, "1h30m0s"),
        (90061, "25h1m1s"),
        (-210, "-3m30s"),
        (-0.5, "-1s"),
    ],
)
def test_format_matches_go_duration_string_rounded_to_seconds(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3599, 3600, 86399, 123456])
def test_formatted_durations_parse_back_and_satisfy_the_crd_pattern(seconds: int) -> None:
    text = format_go_duration(seconds)
    assert parse_go_duration(text) == seconds
    assert re.fullmatch(GO_DURATION_PATTERN, text)


def test_format_refuses_non_finite_values() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        format_go_duration(float("inf"))
