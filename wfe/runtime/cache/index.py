"""Object keys and index functions: ``namespace/name`` keys, the namespace index, dotted-field indexes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Object = dict[str, Any]

IndexFunc = Callable[[Object], list[str]]
"""Computes the values an object is indexed under (client-go: ``cache.IndexFunc``)."""

NAMESPACE_INDEX = "namespace"
FIELD_INDEX_PREFIX = "field:"


def meta_namespace_key(obj: Object) -> str:
    """``namespace/name``, or ``name`` for a cluster-scoped object (client-go: MetaNamespaceKeyFunc)."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise ValueError("object has no metadata.name")
    namespace = meta.get("namespace")
    return f"{namespace}/{name}" if namespace else str(name)


def object_key(namespace: str | None, name: str) -> str:
    """The store key of the object ``name`` in ``namespace`` (``None`` or empty: cluster-scoped)."""
    return f"{namespace}/{name}" if namespace else name


def split_meta_namespace_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` of a store key; the namespace is empty for cluster-scoped objects."""
    namespace, _, name = key.rpartition("/")
    if not name or "/" in namespace:
        raise ValueError(f"unexpected key format: {key!r}")
    return namespace, name


def namespace_index(obj: Object) -> list[str]:
    """Indexes an object by its namespace (client-go: MetaNamespaceIndexFunc)."""
    return [str((obj.get("metadata") or {}).get("namespace") or "")]


def field_index_name(field_path: str) -> str:
    """The conventional name of the index over a dotted field path: ``field:spec.targetResource``."""
    return FIELD_INDEX_PREFIX + field_path


def index_by_field(field_path: str) -> IndexFunc:
    """An index function over a dotted field path such as ``spec.targetResource``.

    A string value indexes under itself, a list of scalars under each element, any other scalar
    under its string form; a missing or null field (or a mapping) is not indexed.
    """
    parts = field_path.split(".")
    if not all(parts):
        raise ValueError(f"invalid field path: {field_path!r}")

    def extract(obj: Object) -> list[str]:
        value: Any = obj
        for part in parts:
            if not isinstance(value, dict):
                return []
            value = value.get(part)
        if isinstance(value, list):
            return [_index_value(item) for item in value if _is_scalar(item)]
        return [_index_value(value)] if _is_scalar(value) else []

    extract.__name__ = f"index_by_field({field_path})"
    return extract


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _index_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
