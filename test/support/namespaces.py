"""Throw-away namespaces for tests: created on entry, deleted on exit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from wfe.runtime.client import NAMESPACES, Client, is_not_found


@contextmanager
def namespace_named(client: Client, name: str) -> Iterator[str]:
    """The namespace ``name``, created now and deleted (if still there) on exit."""
    client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        yield name
    finally:
        try:
            client.delete(NAMESPACES, name)
        except Exception as err:
            if not is_not_found(err):
                raise


@contextmanager
def temporary_namespace(client: Client, prefix: str = "test") -> Iterator[str]:
    """A fresh namespace with a unique name starting with ``prefix``."""
    with namespace_named(client, f"{prefix}-{uuid.uuid4().hex[:10]}") as name:
        yield name
