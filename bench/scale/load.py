"""Seeding, in a process of its own: copies of the templates are written from threads of a separate
Python process, before the controller starts (bench/load_process.py drives the timed load).

Each function here runs in the child: plain arguments in, plain results out.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from bench.errors import BenchError
from bench.load_worker import in_parallel
from bench.scale.seed import Seeded
from bench.scale.templates import Template, copy_of
from wfe.controller.resources import PIPELINE_RUNS, WORKFLOW_EXECUTIONS
from wfe.runtime.client import Client, load_configuration

SEED_THREADS = 8

T = TypeVar("T")


def in_child(function: Callable[..., T], *args: Any) -> T:
    """Runs ``function(*args)`` in a fresh Python process (spawned: no state shared) and returns
    its result; its exceptions are raised here."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def seed_in_child(
    kubeconfig: Path,
    namespace: str,
    templates: Mapping[str, Template],
    items: Sequence[Seeded],
    captured_at: float,
) -> tuple[float, int]:
    """``seed`` in a process of its own (plain arguments across): the harness's interpreter stays
    out of the seeding, and the seeding out of the harness's."""
    as_dicts = {kind: template.as_dict() for kind, template in templates.items()}
    return in_child(seed, str(kubeconfig), namespace, as_dicts, list(items), captured_at)


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
    client = Client(load_configuration(kubeconfig), qps=0)  # no client-side throttling
    by_kind = {kind: Template.from_dict(data) for kind, data in templates.items()}
    by_name = {item.name: item for item in items}
    now = time.time()
    writes: dict[str, int] = {}

    def one(name: str) -> None:
        item = by_name[name]
        shift = timedelta(seconds=now - captured_at - item.age_s)
        copy = copy_of(by_kind[item.kind], namespace, item.name, item.target, shift)
        created = client.create(WORKFLOW_EXECUTIONS, copy.body)
        client.patch(
            WORKFLOW_EXECUTIONS, name, {"status": copy.status}, namespace, subresource="status"
        )
        writes[name] = 2
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
            writes[name] += 2

    _issued, errors, seconds = in_parallel(one, list(by_name), SEED_THREADS)
    if errors:
        raise BenchError(f"seeding: {len(errors)} failed, e.g. {errors[:3]}")
    return seconds, sum(writes.values())
