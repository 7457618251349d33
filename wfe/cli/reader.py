"""The plugin's only way to the cluster: GET and LIST, nothing that writes, so it cannot change
what it shows. Credentials come from the project's own client (kubeconfig, context, in-cluster)."""

from __future__ import annotations

import os
from typing import Any

from kubernetes import config as k8s_config

from api.workflowexecution.v1alpha1.constants import KIND
from wfe.controller.resources import JOBS, PIPELINE_RUNS, TASK_RUNS, WORKFLOW_EXECUTIONS
from wfe.controller.targets import KindNames
from wfe.runtime.client import EVENTS, Client, Resource, load_configuration

Object = dict[str, Any]

USER_AGENT = "kubectl-wfe/python"
SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
_PAGE = 500


class ClusterReader:
    def __init__(self, client: Client):
        self._client = client

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None) -> ClusterReader:
        return cls(Client(load_configuration(kubeconfig, context), user_agent=USER_AGENT))

    def list_all(
        self, resource: Resource, namespace: str | None = None, **selectors: str
    ) -> list[Object]:
        """Every object (paged like kubectl: 500 at a time); ``namespace=None`` means all."""
        items: list[Object] = []
        token: str | None = None
        while True:
            page = self._client.list(
                resource,
                namespace,
                limit=_PAGE,
                continue_token=token,
                label_selector=selectors.get("label_selector"),
                field_selector=selectors.get("field_selector"),
            )
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def get(self, resource: Resource, name: str, namespace: str | None) -> Object:
        return self._client.get(resource, name, namespace)

    def get_or_none(self, resource: Resource, name: str, namespace: str | None) -> Object | None:
        return self._client.get_or_none(resource, name, namespace)

    def kind_names(self) -> KindNames:
        """Discovery (GETs only), so targets group under the controller's canonical lock keys."""
        return KindNames.discover(self._client)

    def workflow_executions(self, namespace: str | None) -> list[Object]:
        return self.list_all(WORKFLOW_EXECUTIONS, namespace)

    def workflow_execution(self, name: str, namespace: str) -> Object:
        return self.get(WORKFLOW_EXECUTIONS, name, namespace)

    def pipeline_run(self, name: str, namespace: str) -> Object | None:
        return self.get_or_none(PIPELINE_RUNS, name, namespace)

    def job(self, name: str, namespace: str) -> Object | None:
        return self.get_or_none(JOBS, name, namespace)

    def task_run(self, name: str, namespace: str) -> Object | None:
        return self.get_or_none(TASK_RUNS, name, namespace)

    def events_for(self, obj: Object) -> list[Object]:
        """The Events recorded on ``obj`` (by uid, as ``kubectl describe`` finds them), oldest first."""
        meta = obj["metadata"]
        selector = f"involvedObject.kind={KIND},involvedObject.uid={meta.get('uid')}"
        events = self.list_all(EVENTS, meta.get("namespace"), field_selector=selector)
        return sorted(events, key=_event_time)


def _event_time(event: Object) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def default_namespace(kubeconfig: str | None, context: str | None) -> str:
    """kubectl's default: the namespace of the kubeconfig context, in-cluster the pod's, else
    ``default``."""
    explicit = kubeconfig or os.environ.get("KUBECONFIG")
    if not explicit and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            with open(SERVICE_ACCOUNT_NAMESPACE_FILE, encoding="utf-8") as handle:
                return handle.read().strip() or "default"
        except OSError:
            return "default"
    try:
        contexts, active = k8s_config.list_kube_config_contexts(
            config_file=explicit.split(os.pathsep)[0] if explicit else None
        )
    except (k8s_config.ConfigException, OSError):
        return "default"
    chosen = (
        next((c for c in contexts or [] if c.get("name") == context), None) if context else active
    )
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
