"""kill -9 of the controller at a random point of a burst (100 WFEs over 20 targets), restarted in
place on the same audit spool: nothing lost, nothing run twice, no target run twice at once."""

from __future__ import annotations

import random
import time

import pytest

from . import sizes
from .world import World

SIZE = sizes.current()
BURST_SECONDS = 8.0


@pytest.mark.parametrize("round_", range(SIZE.kill_rounds))
def test_a_controller_killed_at_a_random_point_of_a_burst_loses_nothing_and_runs_nothing_twice(
    fault_world: World, size: sizes.FaultSize, round_: int
) -> None:
    controller, _ = fault_world.running_controller()
    burst = fault_world.burst(size.burst_wfes, size.burst_targets, over_seconds=BURST_SECONDS)
    time.sleep(random.Random(round_).uniform(0.5, BURST_SECONDS))  # the random point of the fault
    controller.kill()
    killed = time.monotonic()
    controller.start()
    controller.wait_ready()
    back = time.monotonic() - killed
    burst.join()

    settle = fault_world.wait_until_settled()
    figures = fault_world.figures(f"kill -9 controller (round {round_ + 1})")
    figures.recovery_s = back  # kill -9 until the restarted process is ready again
    figures.extra["settled_s"] = round(settle, 1)
    fault_world.report(figures)
    fault_world.assert_invariants(figures)
