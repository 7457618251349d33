"""The API resources the WorkflowExecution controller reads and writes, and its cache index names."""

from __future__ import annotations

from typing import Final

from api.tekton.v1 import constants as tekton
from api.workflowexecution.v1alpha1 import constants as wfe_api
from wfe.runtime.client import Resource

WORKFLOW_EXECUTIONS: Final = Resource(wfe_api.GROUP, wfe_api.VERSION, wfe_api.PLURAL, wfe_api.KIND)
PIPELINE_RUNS: Final = Resource(
    tekton.GROUP, tekton.VERSION, tekton.PIPELINE_RUN_PLURAL, tekton.PIPELINE_RUN_KIND
)
TASK_RUNS: Final = Resource(
    tekton.GROUP, tekton.VERSION, tekton.TASK_RUN_PLURAL, tekton.TASK_RUN_KIND
)
JOBS: Final = Resource("batch", "v1", "jobs", "Job")
PODS: Final = Resource("", "v1", "pods", "Pod")

# Field index on the WorkflowExecution cache: "who else targets this resource" in O(1), cluster-wide.
TARGET_RESOURCE_INDEX: Final = f"field:{wfe_api.TARGET_RESOURCE_FIELD}"
