"""Deterministic Kubernetes names and label values derived from WorkflowExecution fields.

The PipelineRun name doubles as the cluster-wide resource lock (SPEC §3), so it must depend on
the target resource only and never change between releases.
"""

from __future__ import annotations

import hashlib
import re

PIPELINE_RUN_NAME_PREFIX = "wfe-"
_LOCK_HASH_HEX_CHARS = 16

LABEL_VALUE_MAX_LENGTH = 63
_TRUNCATION_HASH_HEX_CHARS = 8
_LABEL_VALUE_INVALID_CHAR = re.compile(r"[^A-Za-z0-9._-]")
_LABEL_VALUE_EDGE_JUNK = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pipeline_run_name(target_resource: str) -> str:
    """Return the lock name for a target: ``wfe-`` + the first 16 hex chars of its sha256."""
    return PIPELINE_RUN_NAME_PREFIX + _sha256_hex(target_resource)[:_LOCK_HASH_HEX_CHARS]


def is_valid_label_value(value: str) -> bool:
    """True when the API server accepts ``value`` as a label value unchanged."""
    return len(value) <= LABEL_VALUE_MAX_LENGTH and _LABEL_VALUE.fullmatch(value) is not None


def sanitize_label_value(value: str) -> str:
    """Turn any string into a valid label value, deterministically.

    Characters outside ``[A-Za-z0-9._-]`` become ``-`` and the ends are trimmed to alphanumerics.
    A value that must be shortened to 63 characters keeps a short hash of the original as its
    suffix, so two long values sharing a prefix still get different labels.
    """
    cleaned = _LABEL_VALUE_EDGE_JUNK.sub("", _LABEL_VALUE_INVALID_CHAR.sub("-", value))
    if not cleaned:
        return _sha256_hex(value)[:_TRUNCATION_HASH_HEX_CHARS] if value else ""
    if len(cleaned) <= LABEL_VALUE_MAX_LENGTH:
        return cleaned
    suffix = _sha256_hex(value)[:_TRUNCATION_HASH_HEX_CHARS]
    head_length = LABEL_VALUE_MAX_LENGTH - len(suffix) - 1
    head = _LABEL_VALUE_EDGE_JUNK.sub("", cleaned[:head_length])
    return f"{head}-{suffix}"
