"""The leader election gauge with client-go's name and label: 1 while this process leads a lease."""

from __future__ import annotations

from prometheus_client import Gauge

from wfe.runtime.metrics.registry import REGISTRY

_master_status = Gauge(
    "leader_election_master_status",
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, "
    "1 indicates master. 'name' is the string used to identify the lease. Please make sure to "
    "group by name.",
    ("name",),
    registry=REGISTRY,
)


def report_leading(lease_name: str, leading: bool) -> None:
    """Set ``leader_election_master_status{name=lease_name}`` to 1 (leading) or 0 (standby)."""
    _master_status.labels(name=lease_name).set(1 if leading else 0)
