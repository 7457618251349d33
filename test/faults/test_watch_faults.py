"""Watches under fault: black-holed by the network (open, silent), and cut in the middle of an
event. No transition may be missed, and a mere cut must not cost a full relist."""

from __future__ import annotations

import time

from integration.controller.harness import workflow_execution
from support.wait import wait_for

from . import sizes
from .known_bugs import KnownBugError
from .proxy import summary
from .world import World

SIZE = sizes.current()
INACTIVITY_DEADLINE_S = 70.0  # the reflector's: no byte for this long means a dead watch


def half_of_the_burst_created(world: World, size: sizes.FaultSize) -> None:
    wait_for(lambda: len(world.created) >= size.burst_wfes // 2, 30, message="half the burst")


def test_black_holed_watches_are_detected_and_replaced_and_nothing_is_lost(
    fault_world: World, size: sizes.FaultSize
) -> None:
    _, proxy = fault_world.running_controller()
    burst = fault_world.burst(size.burst_wfes // 2, size.burst_targets, over_seconds=4.0)
    wait_for(lambda: len(fault_world.created) >= size.burst_wfes // 8, 30, message="burst started")
    began = time.monotonic()
    frozen = proxy.freeze_watches()
    burst.join()

    def rewatched() -> bool:
        return sum(1 for r in proxy.requests_between(began) if r.is_watch) >= frozen

    wait_for(rewatched, INACTIVITY_DEADLINE_S + 30, interval=0.5, message="both watches re-opened")
    recovery = time.monotonic() - began
    settle = fault_world.wait_until_settled()
    # a verdict given just after the freeze is seen once the dead watch is replaced
    figures = fault_world.figures(
        "watch black-holed (open, no bytes)", verdict_bound=60.0 + INACTIVITY_DEADLINE_S
    )
    figures.recovery_s = recovery
    figures.extra.update(frozen_watches=frozen, settled_s=round(settle, 1))
    fault_world.report(figures)
    assert frozen >= 2
    assert recovery <= INACTIVITY_DEADLINE_S + 15, "a silent watch must be given up on the deadline"
    fault_world.assert_invariants(figures)


def test_watches_cut_mid_event_mid_burst_miss_no_transition(
    fault_world: World, size: sizes.FaultSize
) -> None:
    _, proxy = fault_world.running_controller()
    burst = fault_world.burst(size.burst_wfes, size.burst_targets, over_seconds=8.0)
    half_of_the_burst_created(fault_world, size)
    began = time.monotonic()
    armed = proxy.cut_watches()
    burst.join()
    settle = fault_world.wait_until_settled()
    figures = fault_world.figures("watch cut mid-event")
    figures.extra.update(
        watches_cut=proxy.watches_cut,
        settled_s=round(settle, 1),
        **summary(proxy.requests_between(began)),
    )
    fault_world.report(figures)
    assert armed >= 2 and proxy.watches_cut >= 1
    fault_world.assert_invariants(figures)


def test_a_watch_cut_mid_event_resumes_from_its_last_version_without_a_relist(
    fault_world: World,
) -> None:
    _, proxy = fault_world.running_controller()
    fault_world.create(
        workflow_execution(
            "before-cut", fault_world.namespace, target=f"{fault_world.namespace}/deployment/a"
        )
    )
    wait_for(lambda: fault_world.ledger.terminal_count() == 1, 30, message="first WFE done")
    began = time.monotonic()
    assert proxy.cut_watches() >= 2
    fault_world.create(
        workflow_execution(
            "after-cut", fault_world.namespace, target=f"{fault_world.namespace}/deployment/b"
        )
    )
    wait_for(
        lambda: fault_world.ledger.terminal_count() == 2,
        60,
        message="the WFE created at the cut done",
    )
    after = proxy.requests_between(began)
    print(f"FAULT cut mid-event, idle: cut={proxy.watches_cut} {summary(after)}")
    assert proxy.watches_cut >= 1
    lists = [r.path for r in after if r.is_list]
    if lists:
        raise KnownBugError(1, f"a watch cut mid-event cost a full relist: {lists}")
