"""Reads the deployment manifests under config/ the way kustomize lists them."""

from __future__ import annotations

from pathlib import Path

import yaml

from wfe.runtime.client import Object

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def kustomization_manifests(directory: Path) -> list[Object]:
    """The documents of the files ``directory/kustomization.yaml`` lists, in its order.

    Only plain files are read: a nested kustomization (a directory entry) raises ValueError.
    """
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    documents: list[Object] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            raise ValueError(f"{path}: nested kustomizations are not supported here")
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents
