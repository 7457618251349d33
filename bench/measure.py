"""One measured run: a system under test (or the bare-client reference) in a setting, on fresh
namespaces, from start to an empty cluster again.

A system's run: start it as a process of its own → warm-up (a few workflows end to end: caches
synced, connections open) → 2 s idle → **burst** (N WFEs on distinct targets created at once from
the load process; wait all Running and every PipelineRun; Tekton's verdict on all; wait all
Completed; wait until the API server's write counters stand still) → **steady** (WFEs arriving at a
fixed rate, each succeeded as its PipelineRun appears, paced the same) → **storm** (M WFEs over
M/10 targets at once; wait all decided; count PipelineRuns and Running WFEs per target) → stop it →
strip finalizers and delete what the run left.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.workflowexecution.v1alpha1.constants import Phase
from bench import controller_metrics
from bench.apiserver_requests import (
    READ_VERBS,
    WRITE_VERBS,
    ApiServerRequests,
    per_workflow,
    requests_by,
    total,
)
from bench.cluster import ensure_namespaces
from bench.controller_process import ControllerProcess
from bench.errors import BenchError
from bench.load_process import LoadProcess
from bench.observer import TERMINAL, Observer
from bench.peers import Peers
from bench.settings import Setting
from bench.sizes import LOAD_THREADS, Size
from bench.stats import Distribution
from bench.systems import PYTHON, controller_process
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import EVENTS, Client

Object = dict[str, Any]
Progress = Callable[[str], None]

DECIDED = frozenset({Phase.RUNNING, *TERMINAL})
ANNOTATION_TARGET = "kubernaut.ai/target-resource"
WARM_UP = 3
IDLE_S = 2.0
MIB = 1024.0


@dataclass
class Harness:
    """What every run shares: the control plane's admin client and kubeconfig, its request
    counters, the size, where logs go, the peers (when compared)."""

    client: Callable[[], Client]
    kubeconfig: Path
    requests: ApiServerRequests
    size: Size
    out: Path
    progress: Progress
    peers: Peers | None
    template: Object | None = None  # a Completed WFE as the Python controller left it (lock check)


def _namespaces(h: Harness, tag: str) -> tuple[str, str]:
    namespace, execution = f"b-{tag}", f"x-{tag}"
    ensure_namespaces(h.client(), [namespace, execution])
    return namespace, execution


def _cleanup(client: Client, namespace: str, execution: str) -> None:
    """Empties what a run left (the controller is stopped, so finalizers are stripped by hand)."""
    for wfe in client.list(WORKFLOW_EXECUTIONS, namespace).get("items", []):
        if wfe["metadata"].get("finalizers"):
            client.patch(
                WORKFLOW_EXECUTIONS,
                wfe["metadata"]["name"],
                {"metadata": {"finalizers": None}},
                namespace,
            )
    client.request("DELETE", WORKFLOW_EXECUTIONS.path(namespace))
    client.request("DELETE", PIPELINE_RUNS.path(execution))
    client.request("DELETE", EVENTS.path(namespace))
    left = len(client.list(WORKFLOW_EXECUTIONS).get("items", []))
    left_runs = len(client.list(PIPELINE_RUNS).get("items", []))
    if left or left_runs:
        raise BenchError(f"cleanup left {left} WorkflowExecutions and {left_runs} PipelineRuns")


def _workflows(
    h: Harness,
    load: LoadProcess,
    observer: Observer,
    controller: ControllerProcess,
    items: list[tuple[str, str]],
    rate: float | None = None,
) -> Object:
    """Create all (paced at ``rate``/s if given), wait all Running and their PipelineRuns, give
    Tekton's verdict on all (same pacing), wait all Completed. Latencies from the load process's
    clock reading before each write to the observer's first sight of the answer."""
    names = [name for name, _ in items]
    timeout = h.size.wait_timeout(len(names))
    created = load.create(observer.namespace, items, LOAD_THREADS, rate)
    controller.check_alive()
    all_running = observer.wait_for_phases(
        names, DECIDED, timeout, f"{controller.name}: all Running"
    )
    _expect(observer, names, Phase.RUNNING, controller.name)
    observer.wait_for_pipeline_runs(names, timeout, f"{controller.name}: every PipelineRun")
    runs = {observer.pipeline_run_of(name): name for name in names}
    verdicts = load.succeed(observer.execution_namespace, list(runs), LOAD_THREADS, rate)
    observer.wait_for_phases(names, TERMINAL, timeout, f"{controller.name}: all Completed")
    _expect(observer, names, Phase.COMPLETED, controller.name)
    last = max(observer.phase_seen_at(name, Phase.COMPLETED) for name in names)
    seconds = last - created.first
    return {
        "workflows": len(names),
        "seconds": seconds,
        "workflows_per_s": len(names) / seconds,
        "create_phase_s": all_running - created.first,
        "complete_phase_s": last - verdicts.first,
        "create_to_pipelinerun": Distribution.of(
            observer.pipeline_run_seen_at(name) - created.issued[name] for name in names
        ).as_dict(),
        "succeeded_to_completed": Distribution.of(
            observer.phase_seen_at(runs[run], Phase.COMPLETED) - at
            for run, at in verdicts.issued.items()
        ).as_dict(),
    }


def _expect(observer: Observer, names: list[str], phase: str, system: str) -> None:
    wrong = [n for n in names if not observer.was_seen(n, phase)]
    if wrong:
        shown = [f"{n}={observer.phase_of(n)}" for n in wrong[:3]]
        raise BenchError(f"{system}: {len(wrong)} WorkflowExecution(s) never {phase}: {shown}")


def _storm(
    h: Harness, load: LoadProcess, observer: Observer, controller: ControllerProcess, tag: str
) -> Object:
    count, per_target = h.size.storm, h.size.storm_per_target
    targets = max(1, count // per_target)
    items = [(f"storm-{i}", f"{tag}-storm/deployment/app-{i % targets}") for i in range(count)]
    names = [name for name, _ in items]
    cpu_before = controller.cpu_seconds()
    created = load.create(observer.namespace, items, LOAD_THREADS)
    done = observer.wait_for_phases(
        names, DECIDED, h.size.wait_timeout(count), f"{controller.name}: storm decided"
    )
    seconds = done - created.first
    decided = [
        min(observer.phase_seen_at(n, p) for p in DECIDED if observer.was_seen(n, p))
        - created.issued[n]
        for n in names
    ]
    time.sleep(1.0)  # late writes (a second runner would show now)
    cpu = controller.cpu_seconds() - cpu_before
    client = h.client()
    runs = client.list(PIPELINE_RUNS, observer.execution_namespace).get("items", [])
    runs_per_target = Counter(
        (r["metadata"].get("annotations") or {}).get(ANNOTATION_TARGET) for r in runs
    )
    wfes = client.list(WORKFLOW_EXECUTIONS, observer.namespace).get("items", [])
    storm_wfes = [w for w in wfes if w["metadata"]["name"].startswith("storm-")]
    running = Counter(
        w["spec"]["targetResource"]
        for w in storm_wfes
        if (w.get("status") or {}).get("phase") == Phase.RUNNING
    )
    skips = Counter(
        ((w.get("status") or {}).get("skipDetails") or {}).get("reason", "")
        for w in storm_wfes
        if (w.get("status") or {}).get("phase") == Phase.SKIPPED
    )
    violations = sorted(
        t for t in {t for _, t in items} if runs_per_target[t] != 1 or running[t] != 1
    )
    storm: Object = {
        "workflows": count,
        "targets": targets,
        "seconds": seconds,
        "decided_per_s": count / seconds,
        "decided": Distribution.of(decided).as_dict(),
        "cpu_ms_per_wfe": 1000 * cpu / count,
        "skip_reasons": dict(skips),
        "violations": len(violations),
        "violating_targets": violations[:10],
    }
    h.progress(
        f"{controller.name}: storm of {count} over {targets} targets: "
        f"{count / seconds:.1f} decided/s, {len(violations)} violations"
    )
    return storm


def run_system(h: Harness, system: str, setting: Setting, tag: str) -> Object:
    """One run of ``system`` in ``setting``; everything it started is stopped and emptied."""
    namespace, execution = _namespaces(h, tag)
    client = h.client()
    observer = Observer(client, namespace, execution)
    load: LoadProcess | None = None
    controller = controller_process(
        system,
        kubeconfig=h.kubeconfig,
        execution_namespace=execution,
        workers=setting.workers,
        log_path=h.out / "logs" / f"{tag}.log",
        cpus=setting.controller_cpus,
        peers=h.peers,
    )
    result: Object = {
        "system": system,
        "setting": setting.name,
        "tag": tag,
        "workers": setting.workers,
    }
    try:
        observer.start()
        load = LoadProcess(h.kubeconfig, setting.harness_cpus)
        began = time.monotonic()
        controller.start()
        warm = [(f"warm-{i}", f"{tag}-warm/deployment/app-{i}") for i in range(WARM_UP)]
        _workflows(h, load, observer, controller, warm)
        result["start_to_warm_s"] = time.monotonic() - began
        time.sleep(1.0)
        idle_before = controller.cpu_seconds()
        time.sleep(IDLE_S)
        result["idle_cpu_ms_per_s"] = 1000 * (controller.cpu_seconds() - idle_before) / IDLE_S
        result["burst"] = _burst(h, load, observer, controller, tag)
        if system == PYTHON and h.template is None:
            h.template = observer.workflow_execution("burst-0")
        if h.size.steady:
            steady = [
                (f"steady-{i}", f"{tag}-steady/deployment/app-{i}") for i in range(h.size.steady)
            ]
            result["steady"] = {
                "rate": h.size.steady_rate,
                **_workflows(h, load, observer, controller, steady, h.size.steady_rate),
            }
        if h.size.storm:
            result["storm"] = _storm(h, load, observer, controller, tag)
        result["peak_rss_mib"] = controller.peak_rss_kib() / MIB
        result["open_fds"] = controller.open_fds()
        if controller.metrics_url:
            buckets = controller_metrics.lock_check_buckets(controller.scrape())
            result["lock_check_buckets"] = {str(k): v for k, v in buckets.items()}
        controller.check_alive()
    finally:
        result["exit_code"] = controller.stop()
        if load is not None:
            load.stop()
        observer.stop()
        _cleanup(client, namespace, execution)
    return result


def _burst(
    h: Harness, load: LoadProcess, observer: Observer, controller: ControllerProcess, tag: str
) -> Object:
    """The burst, with what it cost the controller: CPU, memory, API requests, reconciles."""
    n = h.size.burst
    load.take_counts()
    api_before = h.requests.counts()
    scrape_before = controller.scrape() if controller.metrics_url else None
    cpu_before = controller.cpu_seconds()
    items = [(f"burst-{i}", f"{tag}-burst/deployment/app-{i}") for i in range(n)]
    burst = _workflows(h, load, observer, controller, items)
    burst["settle_s"] = h.requests.settle().seconds
    cpu = controller.cpu_seconds() - cpu_before
    requests = per_workflow(requests_by(api_before, h.requests.counts(), load.take_counts()), n)
    burst.update(
        cpu_ms_per_workflow=1000 * cpu / n,
        controller_cpu_utilisation=cpu / burst["seconds"],
        peak_rss_mib=controller.peak_rss_kib() / MIB,
        rss_mib=controller.rss_kib() / MIB,
        open_fds=controller.open_fds(),
        requests_per_workflow=requests,
        writes_per_workflow=total(requests, WRITE_VERBS),
        reads_per_workflow=total(requests, READ_VERBS),
    )
    if scrape_before is not None:
        burst.update(_reconcile_figures(scrape_before, controller.scrape(), n))
    h.progress(
        f"{controller.name}: burst of {n}: {burst['workflows_per_s']:.1f} wf/s, "
        f"{burst['cpu_ms_per_workflow']:.1f} CPU ms/wf, "
        f"{burst['writes_per_workflow']:.2f} writes/wf, peak RSS {burst['peak_rss_mib']:.0f} MiB"
    )
    return burst


def _reconcile_figures(before: str, after: str, workflows: int) -> Object:
    reconciles = controller_metrics.reconciles_total(after) - controller_metrics.reconciles_total(
        before
    )
    figures: Object = {"reconciles_per_workflow": reconciles / workflows}
    for key, histogram in (
        ("mean_reconcile_ms", controller_metrics.RECONCILE_SECONDS),
        ("mean_queued_ms", controller_metrics.QUEUE_SECONDS),
    ):
        sum_after, count_after = controller_metrics.sum_and_count(after, histogram)
        sum_before, count_before = controller_metrics.sum_and_count(before, histogram)
        count = count_after - count_before
        if count > 0:
            figures[key] = 1000 * (sum_after - sum_before) / count
    return figures


def run_reference(h: Harness, setting: Setting, tag: str) -> Object:
    """The bare client: every write of N workflows, from as many threads as the setting's workers,
    in a load process on the controller's CPUs; no controller runs."""
    namespace, execution = _namespaces(h, tag)
    load = LoadProcess(h.kubeconfig, setting.controller_cpus)
    try:
        load.reference(
            namespace,
            execution,
            [(f"warm-{i}", f"{tag}-warm/deployment/app-{i}") for i in range(10)],
            setting.workers,
        )
        load.take_counts()
        api_before = h.requests.counts()
        n = h.size.burst
        items = [(f"ref-{i}", f"{tag}-ref/deployment/app-{i}") for i in range(n)]
        batch = load.reference(namespace, execution, items, setting.workers)
        served = requests_by(api_before, h.requests.counts())
        own = load.take_counts()
    finally:
        load.stop()
        _cleanup(h.client(), namespace, execution)
    requests = per_workflow(served, n)
    result: Object = {
        "system": "reference",
        "setting": setting.name,
        "tag": tag,
        "workers": setting.workers,
        "burst": {
            "workflows": n,
            "seconds": batch.seconds,
            "workflows_per_s": n / batch.seconds,
            "requests_per_workflow": requests,
            "writes_per_workflow": total(requests, WRITE_VERBS),
            "client_writes_per_workflow": sum(own.values()) / n,
        },
    }
    h.progress(
        f"reference ({setting.workers} threads): {n / batch.seconds:.1f} wf/s, "
        f"{result['burst']['writes_per_workflow']:.2f} writes/wf"
    )
    return result
