"""One fault test's world: its namespaces, a Data Storage double, the controller replicas (each
behind its own fault proxy), the ledger that watches what happened, Tekton played by the test, a
burst of WorkflowExecutions, and the invariants every run must keep, printed as figures:

* never two PipelineRuns for one target at once;
* no WorkflowExecution run twice (PipelineRuns the API server created, counted at the proxies);
* every WorkflowExecution terminal, and within ``verdict_bound`` seconds of Tekton's verdict;
* audit exactly once per event id: every expected id delivered (at-least-once), duplicates counted.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration.controller.harness import workflow_execution
from support.datastorage import DataStorage
from support.envtest_assets import crd_paths, envtest_assets
from support.identities import CONTROLLER_USER
from support.namespaces import namespace_named
from support.rbac import apply_controller_rbac, grant_controller_elsewhere
from support.wait import wait_for

from wfe.audit import EventType, event_id_for
from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, is_already_exists
from wfe.runtime.envtest import ControlPlane

from .controller_process import ControllerProcess, kubeconfig_via
from .known_bugs import KnownBugError
from .ledger import TERMINAL, Ledger
from .proxy import FaultProxy
from .tekton_player import TektonPlayer

Object = dict[str, Any]
WORKFLOWS = ("restart-deployment", "scale-up", "rollback")
VERDICT_BOUND_SECONDS = 60.0


@dataclass
class Figures:
    """What one run did, printed as one line and collected for docs/reliability.md."""

    fault: str
    wfes: int = 0
    runs: int = 0  # PipelineRuns the API server created for the controller
    run_twice: int = 0  # WFEs with more than one PipelineRun
    overlaps: int = 0  # moments two PipelineRuns held one target
    stuck: int = 0  # WFEs not terminal at the end
    late: int = 0  # terminal more than the bound after Tekton's verdict
    wrong: int = 0  # outcome other than Tekton's verdict (e.g. Failed/PipelineRunDeleted)
    worst_verdict_lag_s: float = 0.0
    audit_ids: int = 0
    audit_lost: int = 0
    audit_duplicates: int = 0  # deliveries beyond the first, all ids together
    recovery_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.1f}s"
        extra = " ".join(f"{k}={v}" for k, v in self.extra.items())
        return (
            f"FAULT {self.fault}: wfes={self.wfes} runs={self.runs} run_twice={self.run_twice} "
            f"overlaps={self.overlaps} stuck={self.stuck} late={self.late} wrong={self.wrong} "
            f"worst_lag={self.worst_verdict_lag_s:.1f}s audit_ids={self.audit_ids} "
            f"audit_lost={self.audit_lost} audit_dup={self.audit_duplicates} "
            f"recovery={recovery} {extra}"
        ).rstrip()


RESULTS: list[Figures] = []  # every run of the session, for the summary (conftest prints it)

TABLE_HEADER = (
    "| fault | WFEs | PipelineRuns | run twice | overlaps | stuck | late | wrong outcome "
    "| worst verdict→terminal | audit ids | audit lost | audit duplicates | recovery |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
)


def markdown_row(f: Figures) -> str:
    recovery = "-" if f.recovery_s is None else f"{f.recovery_s:.1f} s"
    return (
        f"| {f.fault} | {f.wfes} | {f.runs} | {f.run_twice} | {f.overlaps} | {f.stuck} | {f.late} "
        f"| {f.wrong} | {f.worst_verdict_lag_s:.1f} s | {f.audit_ids} | {f.audit_lost} "
        f"| {f.audit_duplicates} | {recovery} |\n"
    )


@dataclass
class World:
    plane: ControlPlane
    admin: Client
    namespace: str
    execution_namespace: str
    workdir: Path
    data_storage: DataStorage
    ledger: Ledger
    tekton: TektonPlayer
    proxies: list[FaultProxy] = field(default_factory=list)
    replicas: list[ControllerProcess] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    _rng: random.Random = field(default_factory=lambda: random.Random(1))

    # --- controllers ---------------------------------------------------------------------------

    def controller(
        self,
        name: str = "controller",
        *,
        leader_election_id: str | None = None,
        extra_args: list[str] | None = None,
    ) -> ControllerProcess:
        """A replica behind its own proxy (``world.proxy_of(replica)``); not started."""
        if leader_election_id:
            grant_controller_elsewhere(self.admin, self.execution_namespace, (leader_election_id,))
        pki = self.plane.workdir / "pki"
        proxy = FaultProxy(
            self.plane.api_port,
            ca_file=pki / "ca.crt",
            cert_file=pki / "serving.crt",
            key_file=pki / "serving.key",
        ).start()
        self.proxies.append(proxy)
        kubeconfig = kubeconfig_via(
            self.plane.kubeconfig_for(CONTROLLER_USER),
            proxy.url,
            self.workdir / f"{name}.kubeconfig",
        )
        replica = ControllerProcess(
            kubeconfig,
            self.namespace,
            self.execution_namespace,
            self.workdir,
            datastorage_url=self.data_storage.url,
            leader_election_id=leader_election_id,
            extra_args=extra_args or [],
            name=name,
        )
        self.replicas.append(replica)
        return replica

    def running_controller(self) -> tuple[ControllerProcess, FaultProxy]:
        """One replica (no leader election), started and ready, and its proxy."""
        replica = self.controller().start()
        replica.wait_ready()
        return replica, self.proxy_of(replica)

    def proxy_of(self, replica: ControllerProcess) -> FaultProxy:
        return self.proxies[self.replicas.index(replica)]

    # --- load ----------------------------------------------------------------------------------

    def burst(
        self, count: int, targets: int, *, over_seconds: float = 5.0, prefix: str = "b"
    ) -> threading.Thread:
        """Creates ``count`` WFEs over ``targets`` targets at random moments within ``over_seconds``,
        in the background (retrying through API server outages); join the returned thread."""
        plan = [
            (
                f"{prefix}-{i:04d}",
                f"{self.namespace}/deployment/app-{self._rng.randrange(targets)}",
                self._rng.choice(WORKFLOWS),
            )
            for i in range(count)
        ]
        gap = over_seconds / max(1, count)

        def create_all() -> None:
            for name, target, workflow in plan:
                self.create(
                    workflow_execution(name, self.namespace, target=target, workflow_id=workflow)
                )
                time.sleep(self._rng.uniform(0, 2 * gap))

        thread = threading.Thread(target=create_all, daemon=True, name="burst")
        thread.start()
        return thread

    def create(self, wfe: Object) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.admin.create(WORKFLOW_EXECUTIONS, wfe)
                break
            except Exception as err:
                if is_already_exists(err):
                    break
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.created.append(wfe["metadata"]["name"])

    # --- invariants ----------------------------------------------------------------------------

    def wait_until_settled(self, timeout: float = 120.0, *, audit: bool = True) -> float:
        """Until every created WFE is terminal and (``audit``) every expected audit id arrived.
        Returns how long it took; on timeout returns the timeout (figures then show what is left)."""
        began = time.monotonic()

        def settled() -> bool:
            records = self.ledger.snapshot()
            if sum(1 for r in records.values() if r.phase in TERMINAL) < len(self.created):
                return False
            return not audit or not self._missing_audit_ids(self._final_wfes())

        try:
            wait_for(settled, timeout, interval=0.5, message="every WFE terminal and audited")
        except AssertionError:
            return timeout
        return time.monotonic() - began

    def figures(
        self, fault: str, *, verdict_bound: float = VERDICT_BOUND_SECONDS, audit: bool = True
    ) -> Figures:
        wfes = self._final_wfes()
        records = self.ledger.snapshot()
        figures = Figures(fault, wfes=len(wfes))
        created: dict[str, int] = Counter()
        for proxy in self.proxies:
            for uid, runs in proxy.created_runs_by_wfe().items():
                created[uid] += len(runs)
        for uid, runs in self.ledger.run_uids_by_wfe.items():
            created[uid] = max(created[uid], len(runs))
        figures.runs = sum(created.values())
        figures.run_twice = sum(1 for n in created.values() if n > 1)
        figures.overlaps = len(self.ledger.overlaps)
        figures.stuck = sum(1 for w in wfes if (w.get("status") or {}).get("phase") not in TERMINAL)
        for uid, verdict_at in self.tekton.verdicts.items():
            record = records.get(uid)
            terminal_at = record.terminal_at if record else None
            lag = (terminal_at if terminal_at is not None else time.monotonic()) - verdict_at
            figures.worst_verdict_lag_s = max(figures.worst_verdict_lag_s, lag)
            if lag > verdict_bound:
                figures.late += 1
        by_uid = {w["metadata"]["uid"]: w for w in wfes}
        for uid, success in self.tekton.succeeded.items():
            phase = (by_uid.get(uid, {}).get("status") or {}).get("phase")
            if phase in TERMINAL and phase != ("Completed" if success else "Failed"):
                figures.wrong += 1
                figures.extra.setdefault("wrong_reasons", Counter())[
                    (by_uid[uid]["status"].get("failureDetails") or {}).get("reason", phase)
                ] += 1
        if audit:
            expected = self._expected_audit_ids(wfes)
            deliveries = self.data_storage.deliveries_by_id()
            figures.audit_ids = len(expected)
            figures.audit_lost = len(expected - set(deliveries))
            figures.audit_duplicates = sum(n - 1 for n in deliveries.values())
        figures.extra["ledger_gaps"] = self.ledger.gaps
        return figures

    def assert_invariants(self, figures: Figures) -> None:
        assert figures.overlaps == 0, (
            f"two PipelineRuns held one target at once: {self.ledger.overlaps}"
        )
        assert figures.run_twice == 0, "a WorkflowExecution ran twice"
        assert figures.stuck == 0, f"WorkflowExecutions never finished: {self._stuck_names()}"
        assert figures.late == 0, f"{figures.late} WFEs finished too long after Tekton's verdict"
        assert figures.audit_lost == 0, (
            f"{figures.audit_lost} audit events never reached Data Storage"
        )
        if figures.wrong:
            reasons = figures.extra.get("wrong_reasons", Counter())
            if set(reasons) == {"PipelineRunDeleted"}:
                raise KnownBugError(
                    10, f"{figures.wrong} runs Tekton judged were failed as PipelineRunDeleted"
                )
            raise AssertionError(
                f"{figures.wrong} WFEs ended against Tekton's verdict: {dict(reasons)}"
            )

    def report(self, figures: Figures) -> Figures:
        RESULTS.append(figures)
        print(figures.line())
        return figures

    def _final_wfes(self) -> list[Object]:
        items: list[Object] = self.admin.list(WORKFLOW_EXECUTIONS, self.namespace)["items"]
        return items

    def _stuck_names(self) -> list[str]:
        return [
            f"{w['metadata']['name']}:{(w.get('status') or {}).get('phase')}"
            for w in self._final_wfes()
            if (w.get("status") or {}).get("phase") not in TERMINAL
        ][:10]

    @staticmethod
    def _expected_audit_ids(wfes: list[Object]) -> set[str]:
        expected: set[str] = set()
        for wfe in wfes:
            status = wfe.get("status") or {}
            uid = wfe["metadata"]["uid"]
            phase = status.get("phase")
            if phase == "Skipped":
                expected.add(event_id_for(uid, EventType.WORKFLOW_SKIPPED))
                continue
            if status.get("startTime"):
                expected.add(event_id_for(uid, EventType.EXECUTION_STARTED))
            if phase == "Completed":
                expected.add(event_id_for(uid, EventType.WORKFLOW_COMPLETED))
            elif phase == "Failed":
                expected.add(event_id_for(uid, EventType.WORKFLOW_FAILED))
        return expected

    def _missing_audit_ids(self, wfes: list[Object]) -> set[str]:
        return self._expected_audit_ids(wfes) - set(self.data_storage.deliveries_by_id())


@contextmanager
def control_plane_for_faults(*apiserver_args: str) -> Iterator[ControlPlane]:
    """A started control plane with both CRD sets, the controller's ServiceAccount identity and
    config/rbac applied cluster-wide."""
    assets = envtest_assets()
    plane = ControlPlane(
        binaries=assets,
        crd_paths=crd_paths(assets),
        extra_users=[CONTROLLER_USER],
        extra_apiserver_args=list(apiserver_args),
    )
    plane.start()
    try:
        apply_controller_rbac(plane.client())
        yield plane
    finally:
        plane.stop()


@contextmanager
def world(plane: ControlPlane, admin: Client, workdir: Path, *, seed: int = 0) -> Iterator[World]:
    """Namespaces, Data Storage, ledger and Tekton for one test; everything torn down on exit,
    controllers first (their logs stay in ``workdir``)."""
    with ExitStack() as stack:
        namespace = stack.enter_context(namespace_named(admin, f"faults-{uuid.uuid4().hex[:8]}"))
        execution_namespace = stack.enter_context(namespace_named(admin, f"{namespace}-x"))
        # config/rbac's Tekton Role, moved to this test's execution namespace
        grant_controller_elsewhere(admin, execution_namespace)
        data_storage = DataStorage()
        data_storage.start()
        stack.callback(data_storage.stop)
        tekton = TektonPlayer(admin, execution_namespace, seed=seed).start()
        stack.callback(tekton.close)
        ledger = Ledger(admin, namespace, execution_namespace)
        ledger.on_run_added.append(tekton.on_new_run)
        ledger.start()
        stack.callback(ledger.close)
        built = World(
            plane,
            admin,
            namespace,
            execution_namespace,
            workdir,
            data_storage,
            ledger,
            tekton,
            _rng=random.Random(seed),
        )

        def teardown() -> None:
            for replica in built.replicas:
                replica.kill()
            for proxy in built.proxies:
                proxy.stop()

        stack.callback(teardown)
        yield built
