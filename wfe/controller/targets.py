"""The lock key of a target: ``spec.targetResource`` with its kind canonicalised (SPEC §3).

One object has one key however its kind is written: plural and short names map to the lowercase
singular kind through the API server's discovery (``deployments``, ``deploy`` → ``deployment``;
``nodes``, ``no`` → ``node``), read once when the controller starts and then served from memory
(never per reconcile). A kind discovery does not know is used as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import structlog

from wfe.runtime.client import ApiError, Client

log = structlog.get_logger("wfe.controller")

Object = dict[str, Any]


class KindNames:
    """Maps every name a kind goes by to its lowercase singular. Immutable, thread-safe."""

    def __init__(self, names: Mapping[str, str] | None = None):
        self._names: Mapping[str, str] = MappingProxyType(dict(names or {}))

    def __len__(self) -> int:
        return len(self._names)

    def canonical_kind(self, kind: str) -> str:
        """The lowercase singular of ``kind``; ``kind`` itself when discovery does not know it."""
        return self._names.get(kind.lower(), kind)

    def key(self, target_resource: str) -> str:
        """``target_resource`` (``namespace/kind/name`` or ``kind/name``) with its kind canonical."""
        parts = target_resource.split("/")
        if len(parts) not in (2, 3):
            return target_resource  # refused by the schema; never a lock key of anything else
        parts[-2] = self.canonical_kind(parts[-2])
        return "/".join(parts)

    @classmethod
    def from_resource_lists(cls, resource_lists: Iterable[Object]) -> KindNames:
        """Builds the map from discovery's APIResourceLists, most preferred first: a name two
        groups share (``events`` in core and in events.k8s.io) keeps its first meaning, as
        client-go's RESTMapper prefers the core group."""
        names: dict[str, str] = {}
        for resource_list in resource_lists:
            for resource in resource_list.get("resources") or ():
                plural = str(resource.get("name") or "")
                kind = str(resource.get("kind") or "")
                if not plural or not kind or "/" in plural:  # subresources are not targets
                    continue
                singular = str(resource.get("singularName") or "") or kind.lower()
                for word in (singular, plural, kind.lower(), *(resource.get("shortNames") or ())):
                    names.setdefault(str(word).lower(), singular)
        return cls(names)

    @classmethod
    def discover(cls, client: Client) -> KindNames:
        """Reads the core API and every group's preferred version. Raises ApiError when the API
        server cannot list its groups; a single group that does not answer (an aggregated API
        that is down) is skipped with a warning, as kubectl does."""
        resource_lists = [client.request("GET", "/api/v1")]
        groups = client.request("GET", "/apis").get("groups") or []
        for group in groups:
            version = (group.get("preferredVersion") or {}).get("groupVersion")
            if not version:
                continue
            try:
                resource_lists.append(client.request("GET", f"/apis/{version}"))
            except ApiError as err:
                log.warning("discovery skipped an API group", group_version=version, error=str(err))
        names = cls.from_resource_lists(resource_lists)
        log.info("discovered kind names", names=len(names), groups=len(groups))
        return names


# No canonicalisation beyond what the schema already enforces: for callers without an API server.
AS_WRITTEN: Final = KindNames()
