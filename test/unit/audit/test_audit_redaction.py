"""--audit-redact-parameters: audit events keep parameter names but no values, and no rationale,
before anything is spooled or sent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wfe.audit.events import EventType, build_event
from wfe.audit.factory import build_recorder
from wfe.audit.recorder import AuditRecorder
from wfe.audit.redaction import REDACTED, redact_parameters
from wfe.audit.spool import MemorySpool

WFE: dict[str, Any] = {
    "metadata": {"name": "restart", "namespace": "payments", "uid": "u-1"},
    "spec": {
        "remediationRequestRef": {"name": "rr-1"},
        "workflowRef": {"workflowId": "restart", "version": "1", "containerImage": "q.io/w:1"},
        "targetResource": "payments/deployment/api",
        "parameters": {"DB_PASSWORD_HINT": "hunter2", "TARGET": "api"},
        "rationale": "the database password rotated",
    },
    "status": {"phase": "Running"},
}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_redaction_keeps_names_and_drops_values_and_rationale() -> None:
    event = build_event(EventType.EXECUTION_STARTED, WFE, now=NOW)
    redacted = redact_parameters(event)
    assert redacted.event_data["parameters"] == {"DB_PASSWORD_HINT": REDACTED, "TARGET": REDACTED}
    assert redacted.event_data["rationale"] == REDACTED
    assert "hunter2" not in str(redacted.to_dict())
    # everything else is untouched, the original too
    assert redacted.event_id == event.event_id
    assert event.event_data["parameters"]["DB_PASSWORD_HINT"] == "hunter2"


class Keeping:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send_batch(self, events: Any) -> None:
        self.sent.extend(events)


def test_the_recorder_redacts_before_spooling() -> None:
    spool = MemorySpool()
    recorder = AuditRecorder(Keeping(), spool, transform=redact_parameters)
    recorder.record(build_event(EventType.EXECUTION_STARTED, WFE, now=NOW))
    (spooled,) = spool.take(10)
    assert "hunter2" not in str(spooled.to_dict())


def spooled_text(directory: Path) -> str:
    return "".join(f.read_text() for f in directory.rglob("*") if f.is_file())


def test_with_the_flag_no_parameter_value_reaches_the_spool_directory(tmp_path: Path) -> None:
    event = build_event(EventType.EXECUTION_STARTED, WFE, now=NOW)
    redacting = build_recorder("log", spool_dir=tmp_path / "redacted", redact_parameters=True)
    plain = build_recorder("log", spool_dir=tmp_path / "plain")
    for recorder in (redacting, plain):
        recorder.record(event)  # not started: the event stays in the spool
    assert "hunter2" not in spooled_text(tmp_path / "redacted")
    assert "DB_PASSWORD_HINT" in spooled_text(tmp_path / "redacted")
    assert "hunter2" in spooled_text(tmp_path / "plain")
