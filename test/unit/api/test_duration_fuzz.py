"""Property tests of the Go duration parser and of the timeout bound: whatever a user writes into
spec.executionConfig.timeout, the answer is a number or a clear refusal, never a crash that would
leave the WorkflowExecution without a status (issue 9, item 16)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.workflowexecution.v1alpha1 import (
    GO_DURATION_PATTERN,
    ExecutionConfig,
    format_go_duration,
    parse_go_duration,
)
from api.workflowexecution.v1alpha1.duration import MAX_EXECUTION_TIMEOUT_SECONDS
from api.workflowexecution.v1alpha1.types import EXECUTION_TIMEOUT_MESSAGE

_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_MAX_SECONDS = (2**63 - 1) / 1e9

components = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**12),
        st.none() | st.integers(min_value=0, max_value=10**6),
        st.sampled_from(sorted(_UNIT_SECONDS)),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_parses_to_a_finite_number_or_raises_value_error(text: str) -> None:
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        return
    assert math.isfinite(seconds)
    assert abs(seconds) <= _GO_MAX_SECONDS


@settings(max_examples=200, deadline=None)
@given(components)
def test_well_formed_durations_sum_their_components_or_are_out_of_range(
    parts: list[tuple[int, int | None, str]],
) -> None:
    text = "".join(
        f"{whole}{'' if fraction is None else f'.{fraction}'}{unit}"
        for whole, fraction, unit in parts
    )
    expected = sum(
        float(f"{whole}.{fraction or 0}") * _UNIT_SECONDS[unit] for whole, fraction, unit in parts
    )
    if expected > _GO_MAX_SECONDS:
        with pytest.raises(ValueError, match="out of range"):
            parse_go_duration(text)
    else:
        assert parse_go_duration(text) == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=int(_GO_MAX_SECONDS)))
def test_formatting_whole_seconds_reads_back_the_same(seconds: int) -> None:
    assert parse_go_duration(format_go_duration(seconds)) == seconds


_digits = st.text(alphabet="0123456789", min_size=1, max_size=8)
# strings of the CRD pattern's shape: <digits>[.<digits>]<unit>, one or more times
pattern_timeouts = st.lists(
    st.tuples(_digits, st.none() | _digits, st.sampled_from(sorted(_UNIT_SECONDS))),
    min_size=1,
    max_size=3,  # at most 57 characters: within the schema's maxLength of 64
).map(
    lambda parts: "".join(
        f"{whole}{'' if fraction is None else '.' + fraction}{unit}"
        for whole, fraction, unit in parts
    )
)


@settings(max_examples=200, deadline=None)
@given(pattern_timeouts)
def test_every_timeout_the_schema_pattern_admits_is_accepted_in_range_or_refused_clearly(
    timeout: str,
) -> None:
    assert re.fullmatch(GO_DURATION_PATTERN, timeout)
    try:
        seconds = parse_go_duration(timeout)
    except ValueError:
        seconds = math.inf  # beyond a Go duration
    if 0 < seconds <= MAX_EXECUTION_TIMEOUT_SECONDS:
        assert ExecutionConfig.model_validate({"timeout": timeout}).timeout == timeout
    else:
        with pytest.raises(ValidationError, match=EXECUTION_TIMEOUT_MESSAGE):
            ExecutionConfig.model_validate({"timeout": timeout})


@pytest.mark.parametrize(
    "timeout", ["3000000h", "0s", "0h0m", "24h0m1s", "86401s", "99999999999999999999h"]
)
def test_timeouts_out_of_range_are_refused_with_the_bound_named(timeout: str) -> None:
    with pytest.raises(ValidationError, match="at most 24h"):
        ExecutionConfig.model_validate({"timeout": timeout})


@pytest.mark.parametrize("timeout", ["1ns", "30m", "1h30m", "24h", "1440m", "23h59m60s"])
def test_timeouts_up_to_24h_are_accepted(timeout: str) -> None:
    assert ExecutionConfig.model_validate({"timeout": timeout}).timeout == timeout
