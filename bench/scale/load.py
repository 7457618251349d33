"""The load, in a process of its own: seeding, creating and Tekton's verdicts run on threads of a
separate Python process, so they share no GIL with the observer that times the controller.

Times are ``time.monotonic()`` readings; on Linux that clock is system-wide, so the parent can
compare them with its own. Each function here runs in the child: plain arguments in, plain
results out.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from bench import tekton
from bench.parallel import timed_calls
from bench.scale.seed import Seeded
from bench.scale.templates import Template, copy_of
from bench.workload import workflow_execution
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, load_configuration

SEED_THREADS = 8
VERDICT_THREADS = 8  # "as fast as a load process can": more threads than the controller's workers
CREATE_THREADS = 4

T = TypeVar("T")


def in_child(function: Callable[..., T], *args: Any) -> T:
    """Runs ``function(*args)`` in a fresh Python process (spawned: no state shared) and returns
    its result; its exceptions are raised here."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def _client(kubeconfig: str) -> Client:
    return Client(load_configuration(kubeconfig), qps=0)  # no client-side throttling


def seed(
    kubeconfig: str,
    namespace: str,
    templates: dict[str, dict[str, Any]],
    items: Sequence[Seeded],
    captured_at: float,
) -> tuple[float, int]:
    """Creates every item as a copy of its kind's template; returns (seconds, API writes).

    ``captured_at``: when the templates were taken (epoch seconds): a copy's timestamps are moved
    so that it finished ``age_s`` before now.
    """
    client = _client(kubeconfig)
    by_kind = {kind: Template.from_dict(data) for kind, data in templates.items()}
    now = time.time()
    writes = [0] * len(items)

    def one(index: int) -> None:
        item = items[index]
        shift = timedelta(seconds=now - captured_at - item.age_s)
        copy = copy_of(by_kind[item.kind], namespace, item.name, item.target, shift)
        created = client.create(WORKFLOW_EXECUTIONS, copy.body)
        client.patch(
            WORKFLOW_EXECUTIONS, item.name, {"status": copy.status}, namespace, subresource="status"
        )
        writes[index] = 2
        if copy.pipeline_run is not None:
            run = copy.owned_by(created["metadata"]["uid"])
            client.create(PIPELINE_RUNS, run)
            client.patch(
                PIPELINE_RUNS,
                run["metadata"]["name"],
                {"status": copy.pipeline_run_status},
                run["metadata"]["namespace"],
                subresource="status",
            )
            writes[index] += 2

    batch = timed_calls(one, range(len(items)), threads=SEED_THREADS)
    return batch.wall_seconds, sum(writes)


def create(
    kubeconfig: str, namespace: str, items: Sequence[tuple[str, str]], threads: int
) -> list[float]:
    """Creates a WorkflowExecution per (name, target), as the RemediationOrchestrator; returns
    when each create was issued."""
    client = _client(kubeconfig)

    def one(item: tuple[str, str]) -> None:
        name, target = item
        client.create(WORKFLOW_EXECUTIONS, workflow_execution(name, namespace, target))

    return timed_calls(one, items, threads=threads).started_at


def succeed(kubeconfig: str, execution_namespace: str, pipeline_runs: Sequence[str]) -> list[float]:
    """Writes ``Succeeded=True`` on every PipelineRun, as Tekton; returns when each was issued."""
    client = _client(kubeconfig)
    return timed_calls(
        lambda name: tekton.succeed(client, name, execution_namespace),
        pipeline_runs,
        threads=VERDICT_THREADS,
    ).started_at
