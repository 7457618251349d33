"""Installs CustomResourceDefinitions from YAML files and waits until the API server serves them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from wfe.runtime.client import ApiError, Client, Resource, is_already_exists

CRDS = Resource(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    namespaced=False,
)


def load_crds(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in the given files or directories (*.yaml)."""
    crds: list[dict[str, Any]] = []
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            for doc in yaml.safe_load_all(file.read_text()):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    crds.append(_without_conversion_webhook(doc))
    return crds


def _without_conversion_webhook(crd: dict[str, Any]) -> dict[str, Any]:
    # Tekton's CRDs ask for a conversion webhook that does not run here. Only one version (v1) is
    # read and written by the controller, so no conversion is ever needed: strategy None is exact.
    spec = crd.get("spec", {})
    if spec.get("conversion", {}).get("strategy") == "Webhook":
        spec["conversion"] = {"strategy": "None"}
    return crd


def install_crds(client: Client, paths: Iterable[Path], timeout: float = 60.0) -> list[str]:
    """Creates (or replaces) the CRDs and waits until each is Established and discoverable."""
    names: list[str] = []
    for crd in load_crds(paths):
        name = crd["metadata"]["name"]
        try:
            client.create(CRDS, crd)
        except Exception as err:
            if not is_already_exists(err):
                raise
            current = client.get(CRDS, name)
            crd["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            client.update(CRDS, crd)
        names.append(name)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in sorted(pending):
            crd = client.get(CRDS, name)
            if _established(crd) and _served(client, crd):
                pending.discard(name)
        if not pending:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRDs not established within {timeout}s: {sorted(pending)}")
        time.sleep(0.1)
    return names


def _served(client: Client, crd: dict[str, Any]) -> bool:
    """Established is not enough: storage may still answer 429 "(re)initializing" for a moment."""
    spec = crd["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("storage"))
    resource = Resource(
        spec["group"],
        version,
        spec["names"]["plural"],
        spec["names"]["kind"],
        namespaced=spec.get("scope") == "Namespaced",
    )
    try:
        client.list(resource, limit=1)
    except ApiError as err:
        if err.status in (404, 429, 503):
            return False
        raise
    return True


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
