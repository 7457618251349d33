"""Build the tekton.dev/v1 PipelineRun for a WorkflowExecution (SPEC §4), and read back who owns one.

Pure functions over plain dicts: the WorkflowExecution has already passed spec validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from api.tekton.v1 import (
    API_VERSION,
    BUNDLE_KIND_PARAM,
    BUNDLE_NAME_PARAM,
    BUNDLE_PARAM,
    BUNDLES_RESOLVER,
    PIPELINE_RUN_KIND,
)
from api.workflowexecution.v1alpha1 import (
    ANNOTATION_CONTAINER_DIGEST,
    ANNOTATION_TARGET_RESOURCE,
    ANNOTATION_WORKFLOW_EXECUTION_UID,
    LABEL_MANAGED_BY,
    LABEL_SOURCE_NAMESPACE,
    LABEL_WORKFLOW_EXECUTION,
    LABEL_WORKFLOW_ID,
    MANAGED_BY,
    format_go_duration,
)
from wfe.controller.naming import is_valid_label_value, pipeline_run_name, sanitize_label_value

# The Pipeline inside every workflow bundle is named "workflow" (Kubernaut's bundle convention).
BUNDLE_PIPELINE_NAME: Final = "workflow"


@dataclass(frozen=True)
class ExecutionSettings:
    """Controller-wide defaults that shape every PipelineRun."""

    execution_namespace: str
    default_service_account: str
    default_timeout_seconds: float


@dataclass(frozen=True)
class Owner:
    """The WorkflowExecution a PipelineRun was created for."""

    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, workflow_execution: dict[str, Any]) -> Owner:
        """The identity of ``workflow_execution``, comparable with :func:`owner_of`."""
        metadata = workflow_execution.get("metadata") or {}
        return cls(
            namespace=metadata.get("namespace", ""),
            name=metadata.get("name", ""),
            uid=metadata.get("uid", ""),
        )


def owner_of(pipeline_run: dict[str, Any]) -> Owner | None:
    """Who created ``pipeline_run``, from its labels and uid annotation.

    ``None`` when any of namespace, name or uid is missing: such a PipelineRun cannot be
    attributed to a WorkflowExecution and is treated as a stale lock (SPEC §3).
    """
    metadata = pipeline_run.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    namespace = labels.get(LABEL_SOURCE_NAMESPACE)
    name = labels.get(LABEL_WORKFLOW_EXECUTION)
    uid = annotations.get(ANNOTATION_WORKFLOW_EXECUTION_UID)
    if not (namespace and name and uid):
        return None
    return Owner(namespace=namespace, name=name, uid=uid)


def bundle_reference(image: str, digest: str | None) -> str:
    """The bundle reference the resolver pulls: ``image`` as written, or pinned to ``digest``.

    A tag is mutable, so with a ``containerDigest`` the resolver gets ``<repository>@<digest>``
    (the tag dropped: with a digest it would only be a label, and not every resolver ignores it).
    An ``image`` already pinned to another digest raises ``ValueError``: which bundle was approved
    would be ambiguous.
    """
    if not digest:
        return image
    name, _, pinned = image.partition("@")
    if pinned and pinned != digest:
        raise ValueError(
            f"spec.workflowRef.containerImage is pinned to {pinned} but containerDigest is {digest}"
        )
    last_slash = name.rfind("/")
    tag_colon = name.find(":", last_slash + 1)
    repository = name if tag_colon < 0 else name[:tag_colon]
    return f"{repository}@{digest}"


def execution_metadata(
    workflow_execution: dict[str, Any], settings: ExecutionSettings, lock_key: str | None = None
) -> dict[str, Any]:
    """Name, namespace, labels and annotations of the execution (PipelineRun or Job) of
    ``workflow_execution``: the same on every engine, so one target has one lock across engines.

    Raises ``ValueError`` when the WorkflowExecution's name cannot be a label value (longer than
    63 characters): the watch maps execution events back to their owner through that label.
    """
    metadata = workflow_execution["metadata"]
    spec = workflow_execution["spec"]
    workflow_ref = spec["workflowRef"]
    name = metadata["name"]
    if not is_valid_label_value(name):
        raise ValueError(
            f"WorkflowExecution name {name!r} is longer than 63 characters and cannot label "
            "its PipelineRun"
        )
    annotations = {
        ANNOTATION_TARGET_RESOURCE: spec["targetResource"],
        ANNOTATION_WORKFLOW_EXECUTION_UID: metadata["uid"],
    }
    if workflow_ref.get("containerDigest"):
        annotations[ANNOTATION_CONTAINER_DIGEST] = workflow_ref["containerDigest"]
    return {
        "name": pipeline_run_name(lock_key or spec["targetResource"]),
        "namespace": settings.execution_namespace,
        "labels": {
            LABEL_WORKFLOW_EXECUTION: name,
            LABEL_SOURCE_NAMESPACE: metadata["namespace"],
            LABEL_WORKFLOW_ID: sanitize_label_value(workflow_ref["workflowId"]),
            LABEL_MANAGED_BY: MANAGED_BY,
        },
        "annotations": annotations,
    }


def build_pipeline_run(
    workflow_execution: dict[str, Any],
    settings: ExecutionSettings,
    lock_key: str | None = None,
) -> dict[str, Any]:
    """The PipelineRun that executes ``workflow_execution``; deliberately without ownerReferences.

    Its name is the lock on ``lock_key``, the canonical target (SPEC §3); by default the target
    as written.

    Raises ``ValueError`` when the WorkflowExecution's name cannot be a label value (longer than
    63 characters): the watch maps PipelineRun events back to their owner through that label; and
    when its image and digest disagree (``bundle_reference``).
    """
    spec = workflow_execution["spec"]
    workflow_ref = spec["workflowRef"]
    execution_config = spec.get("executionConfig") or {}

    pipeline_run_spec: dict[str, Any] = {
        "pipelineRef": {
            "resolver": BUNDLES_RESOLVER,
            "params": [
                {
                    "name": BUNDLE_PARAM,
                    "value": bundle_reference(
                        workflow_ref["containerImage"], workflow_ref.get("containerDigest")
                    ),
                },
                {"name": BUNDLE_NAME_PARAM, "value": BUNDLE_PIPELINE_NAME},
                {"name": BUNDLE_KIND_PARAM, "value": "pipeline"},
            ],
        },
    }
    parameters = spec.get("parameters") or {}
    if parameters:
        pipeline_run_spec["params"] = [
            {"name": key, "value": parameters[key]} for key in sorted(parameters)
        ]
    pipeline_run_spec["timeouts"] = {
        "pipeline": execution_config.get("timeout")
        or format_go_duration(settings.default_timeout_seconds)
    }
    pipeline_run_spec["taskRunTemplate"] = {
        "serviceAccountName": execution_config.get("serviceAccountName")
        or settings.default_service_account,
        "podTemplate": {
            "securityContext": {
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        },
    }

    return {
        "apiVersion": API_VERSION,
        "kind": PIPELINE_RUN_KIND,
        "metadata": execution_metadata(workflow_execution, settings, lock_key),
        "spec": pipeline_run_spec,
    }
