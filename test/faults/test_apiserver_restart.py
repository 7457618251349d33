"""kube-apiserver restarted mid-burst with etcd kept: every connection drops, every watch must be
re-established (possibly after a 410), and still nothing is lost, run twice or failed wrongly."""

from __future__ import annotations

import time

import pytest
from support.wait import wait_for

from . import sizes
from .world import World

SIZE = sizes.current()


@pytest.mark.parametrize("round_", range(SIZE.fault_rounds))
def test_an_api_server_restart_mid_burst_loses_nothing_and_runs_nothing_twice(
    fault_world: World, size: sizes.FaultSize, round_: int
) -> None:
    fault_world.running_controller()
    burst = fault_world.burst(size.burst_wfes, size.burst_targets, over_seconds=8.0)
    wait_for(
        lambda: len(fault_world.created) >= size.burst_wfes // 3,
        30,
        message="a third of the burst created",
    )
    began = time.monotonic()
    down_for = 3.0
    fault_world.plane.restart_apiserver(down_for=down_for)
    up = time.monotonic()
    terminal_before = fault_world.ledger.terminal_count()
    burst.join()
    # recovery: from the API server answering again to the controller's next finished workflow
    wait_for(
        lambda: fault_world.ledger.terminal_count() > terminal_before,
        90,
        interval=0.1,
        message="the controller to finish a workflow after the restart",
    )
    recovery = time.monotonic() - up
    settle = fault_world.wait_until_settled()

    figures = fault_world.figures(f"kube-apiserver restart, etcd kept (round {round_ + 1})")
    figures.recovery_s = recovery
    figures.extra.update(apiserver_down_s=round(up - began, 1), settled_s=round(settle, 1))
    fault_world.report(figures)
    fault_world.assert_invariants(figures)
