"""The metric names a PromQL expression reads, and the sample names a /metrics scrape exports: enough
to prove a dashboard or an alert queries only what the controller really exports."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NUMBERS = re.compile(r"(?<![\w:])(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?)+(?![\w:])")
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
     "group_right", "inf", "nan", "atan2"}
)  # fmt: skip

# the sample names each metric type exposes in the text format
_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def metric_names(expression: str) -> set[str]:
    """Names of the series an expression selects (functions, keywords, labels and numbers aside)."""
    text = _STRINGS.sub('""', expression)
    while True:  # innermost first: matchers hold no braces, ranges may hold subqueries
        stripped = _RANGES.sub(" ", _MATCHERS.sub(" ", _GROUPING.sub(" ", text)))
        if stripped == text:
            break
        text = stripped
    text = _NUMBERS.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or name.lower() in _KEYWORDS or name.startswith("$"):
            continue
        names.add(name)
    return names


def exported_sample_names(scrape: str) -> set[str]:
    """Every sample name a scrape declares, from its ``# TYPE`` lines, whether or not a labelled
    series has been observed yet."""
    names = set()
    for family in text_string_to_metric_families(scrape):
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names
