"""``--audit-redact-parameters``: audit events that name the workflow's inputs but not their values.

Parameters and the rationale are copied from the WorkflowExecution into every audit event; with the
``log`` sink they land in the pod's logs, which many more people and systems can read than the audit
store. Redaction keeps the parameter *names* (what was set is still auditable) and replaces each
value, and the rationale, with ``[REDACTED]``. It runs before the event is spooled, so no value is
written to the spool directory either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from wfe.audit.events import AuditEvent

REDACTED: Final = "[REDACTED]"


def redact_parameters(event: AuditEvent) -> AuditEvent:
    """``event`` with parameter values and the rationale replaced by ``[REDACTED]``."""
    data = dict(event.event_data)
    parameters = data.get("parameters")
    if isinstance(parameters, Mapping) and parameters:
        data["parameters"] = dict.fromkeys(parameters, REDACTED)
    if data.get("rationale"):
        data["rationale"] = REDACTED
    return replace(event, event_data=data)
