"""Go `time.Duration` strings: parse them (`1h30m`, `2.5s`) and format whole-second durations the way
Go's `Duration.String` prints them (`3m30s`, `1h0m0s`, `0s`)."""

from __future__ import annotations

import math
import re
from typing import Final

# What the CRD accepts for spec.executionConfig.timeout: one or more <number><unit> components.
GO_DURATION_PATTERN: Final = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"

_SECONDS_PER_UNIT: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign
    "μs": 1e-6,  # U+03BC greek mu, also accepted by Go
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Longer units first so "ms" is not read as "m" followed by a dangling "s".
_COMPONENT: Final = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)")
_MAX_SECONDS: Final = (2**63 - 1) / 1e9  # time.Duration is an int64 of nanoseconds
# spec.executionConfig.timeout is positive and at most 24h, so it always fits a Go time.Duration.
MAX_EXECUTION_TIMEOUT_SECONDS: Final = 24 * 3600


def parse_go_duration(text: str) -> float:
    """Return the length of a Go duration string in seconds, as Go's `time.ParseDuration` reads it.

    Accepts an optional sign, `0`, and a sequence of `<decimal><unit>` components with units
    ns, us (µs, μs), ms, s, m, h. Raises `ValueError` on anything else or on int64 overflow.
    """
    body, sign = text, 1.0
    if body[:1] in ("+", "-"):
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f"invalid duration {text!r}")

    total, position = 0.0, 0
    while position < len(body):
        component = _COMPONENT.match(body, position)
        if component is None or not (component.group(1) or component.group(2)):
            raise ValueError(f"invalid duration {text!r}")
        whole, fraction, unit = component.groups()
        total += float(f"{whole or '0'}.{fraction or '0'}") * _SECONDS_PER_UNIT[unit]
        position = component.end()
    if total > _MAX_SECONDS:
        raise ValueError(f"invalid duration {text!r}: out of range")
    return sign * total


def format_go_duration(seconds: float) -> str:
    """Format a duration rounded to whole seconds like Go's `d.Round(time.Second).String()`.

    Halves round away from zero, as Go does: 90.5 -> `1m31s`, 3600 -> `1h0m0s`, 0.4 -> `0s`.
    """
    if not math.isfinite(seconds):
        raise ValueError(f"cannot format a non-finite duration: {seconds!r}")
    whole = math.floor(abs(seconds) + 0.5)
    if whole == 0:
        return "0s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    sign = "-" if seconds < 0 else ""
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def is_execution_timeout(text: str) -> bool:
    """Whether `text` may be a spec.executionConfig.timeout: a Go duration, positive, at most 24h
    (the CRD's CEL rule; a duration Go cannot hold makes its `duration()` fail, so it is refused)."""
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        return False
    return 0 < seconds <= MAX_EXECUTION_TIMEOUT_SECONDS
