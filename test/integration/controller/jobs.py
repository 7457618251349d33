"""Plays kube-controller-manager's Job controller and the kubelet: creates a Job's pod and writes
Job and pod status through the API the way they do.

No Job controller runs against the local API server; the tests decide every verdict, as they do
for Tekton (tekton.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wfe.controller.engines.job import CONTAINER_NAME, CONTROLLER_UID_LABEL
from wfe.controller.resources import JOBS, PODS
from wfe.controller.timestamps import format_time
from wfe.runtime.client import Client, is_conflict

Object = dict[str, Any]


class JobController:
    """Writes what the Job controller and the kubelet would write, in the execution namespace."""

    def __init__(self, client: Client, namespace: str):
        self.client = client
        self.namespace = namespace

    def job(self, name: str) -> Object:
        return self.client.get(JOBS, name, self.namespace)

    def start(self, name: str, at: datetime) -> Object:
        """The pod exists and runs; the Job counts it active."""
        job = self.job(name)
        pod = self.client.create(
            PODS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-pod",
                    "namespace": self.namespace,
                    "labels": {
                        CONTROLLER_UID_LABEL: job["metadata"]["uid"],
                        "batch.kubernetes.io/job-name": name,
                    },
                },
                "spec": {
                    **job["spec"]["template"]["spec"],
                    "serviceAccountName": "default",
                    "automountServiceAccountToken": False,
                },
            },
        )
        self._write(PODS, pod["metadata"]["name"], {"phase": "Running"})
        return self._write(JOBS, name, {"startTime": format_time(at), "active": 1})

    def set_container(self, name: str, state: Object, phase: str = "Failed") -> None:
        """The kubelet's verdict on the workflow container of the Job's pod."""
        self._write(
            PODS,
            f"{name}-pod",
            {
                "phase": phase,
                "containerStatuses": [
                    {
                        "name": CONTAINER_NAME,
                        "image": "registry.example/job:v1",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": state,
                    }
                ],
            },
        )

    def succeed(self, name: str, started: datetime, at: datetime) -> Object:
        conditions = [
            _condition(
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                at,
            ),
            _condition(
                "Complete", "CompletionsReached", "Reached expected number of succeeded pods", at
            ),
        ]
        return self._write(
            JOBS,
            name,
            {
                "startTime": format_time(started),
                "completionTime": format_time(at),
                "succeeded": 1,
                "active": 0,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
                "conditions": conditions,
            },
        )

    def fail(self, name: str, reason: str, message: str, started: datetime, at: datetime) -> Object:
        conditions = [
            _condition("FailureTarget", reason, message, at),
            _condition("Failed", reason, message, at),
        ]
        return self._write(
            JOBS,
            name,
            {
                "startTime": format_time(started),
                "failed": 1,
                "active": 0,
                "ready": 0,
                "terminating": 0,
                "uncountedTerminatedPods": {},
                "conditions": conditions,
            },
        )

    def _write(self, resource: Any, name: str, status: Object) -> Object:
        for _ in range(5):
            obj = self.client.get(resource, name, self.namespace)
            obj["status"] = {**(obj.get("status") or {}), **status}
            try:
                written: Object = self.client.update_status(resource, obj)
                return written
            except Exception as err:
                if not is_conflict(err):
                    raise
        raise AssertionError(f"could not write the status of {resource.kind} {name}")


def _condition(type_: str, reason: str, message: str, at: datetime) -> Object:
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": format_time(at),
        "lastTransitionTime": format_time(at),
    }
