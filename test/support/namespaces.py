"""A throw-away namespace for one test: created on entry, deleted on exit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from wfe.runtime.client import NAMESPACES, Client, is_not_found


@contextmanager
def temporary_namespace(client: Client, prefix: str = "test") -> Iterator[str]:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        yield name
    finally:
        try:
            client.delete(NAMESPACES, name)
        except Exception as err:
            if not is_not_found(err):
                raise
