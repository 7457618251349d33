"""Adds and removes the cleanup finalizer with optimistic concurrency (resourceVersion precondition)."""

from __future__ import annotations

from typing import Any

from api.workflowexecution.v1alpha1.constants import FINALIZER
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, is_not_found

Object = dict[str, Any]


def has_finalizer(wfe: Object) -> bool:
    return FINALIZER in (wfe["metadata"].get("finalizers") or [])


def add_finalizer(client: Client, wfe: Object) -> Object:
    meta = wfe["metadata"]
    finalizers = [*(meta.get("finalizers") or []), FINALIZER]
    return _patch_finalizers(client, wfe, finalizers)


def remove_finalizer(client: Client, wfe: Object) -> Object | None:
    meta = wfe["metadata"]
    finalizers = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
    try:
        return _patch_finalizers(client, wfe, finalizers)
    except Exception as err:
        if is_not_found(err):
            return None  # already gone: nothing left to clean
        raise


def _patch_finalizers(client: Client, wfe: Object, finalizers: list[str]) -> Object:
    # The resourceVersion in a merge patch is a precondition: a stale view answers 409 and the
    # request is retried with fresh data, so a finalizer someone else added is never dropped.
    meta = wfe["metadata"]
    patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
    return client.patch(WORKFLOW_EXECUTIONS, meta["name"], patch, meta["namespace"])
