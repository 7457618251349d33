"""Where audit events go: the sink protocol and the two ways a delivery can fail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from wfe.audit.events import AuditEvent


class AuditDeliveryError(Exception):
    """The sink could not take the batch now (peer down, 5xx, 429, timeout): retry later."""


class AuditRejectedError(Exception):
    """The sink refused the batch for good (a 4xx about the payload): retrying cannot help."""


class AuditSink(Protocol):
    """Delivers a batch of events. Returns only when every event of the batch was accepted
    (a duplicate counts as accepted); raises ``AuditDeliveryError`` or ``AuditRejectedError``."""

    def send_batch(self, events: Sequence[AuditEvent]) -> None: ...
