"""The controller's liveness check: healthy while working, unhealthy when a reconcile is stuck."""

from __future__ import annotations

import threading
import uuid

from support.wait import wait_for

from wfe.runtime.controller import Controller
from wfe.runtime.reconcile import Request, Result


def test_a_stuck_reconcile_makes_the_controller_unhealthy_until_it_returns() -> None:
    release, entered = threading.Event(), threading.Event()

    def reconcile(request: Request) -> Result:
        if request.name == "stuck":
            entered.set()
            release.wait(10)
        return Result()

    controller = Controller(
        f"health-{uuid.uuid4().hex[:8]}", reconcile, max_concurrent_reconciles=2, wedged_after=0.2
    )
    stop = threading.Event()
    controller.start(stop)
    try:
        assert controller.healthz_check() is None
        controller.queue.add(Request("ns", "stuck"))
        assert entered.wait(5)
        problem = wait_for(controller.healthz_check, timeout=5, message="the wedge to be reported")
        assert "ns/stuck" in problem
        release.set()
        wait_for(lambda: controller.healthz_check() is None, timeout=5, message="health to return")
    finally:
        release.set()
        controller.stop()
        assert controller.wait(5)
        stop.set()
