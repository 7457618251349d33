"""`make run` with no cluster configured is the demo: it starts the local cluster, pushes the sample
workflow, runs the controller and shows the samples reach Completed, Failed and Skipped through the
real Tekton; Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.wait import wait_for

REPO = Path(__file__).resolve().parents[2]


def latest_table(output: str) -> dict[str, tuple[str, str]]:
    """name -> (phase, reason) from the last table the demo printed."""
    tables = [t for t in output.split("\n\n") if t.startswith("NAMESPACE")]
    if not tables:
        return {}
    rows = [line.split() for line in tables[-1].splitlines()[1:]]
    return {row[1]: (row[2], row[4]) for row in rows if len(row) >= 6}


@pytest.mark.timeout(600)
def test_make_run_without_a_cluster_shows_the_samples_finish_through_real_tekton(
    tmp_path: Path,
) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")
    }
    environment["HOME"] = str(tmp_path)  # no ~/.kube/config: "no cluster configured"
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "hack" / "run.py"),
            "--metrics-bind-address=0",
            "--health-probe-bind-address=127.0.0.1:0",
        ],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output: list[str] = []
    errors: list[str] = []
    readers = [
        threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True),
        threading.Thread(target=lambda: errors.extend(process.stderr or []), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        expected = {
            "restart-checkout": ("Failed", "TaskFailed"),
        }

        def samples_done() -> dict[str, tuple[str, str]]:
            assert process.poll() is None, "".join(errors)[-3000:]
            table = latest_table("".join(output))
            twins = sorted(
                table.get(n, ("", "")) for n in ("restart-payment-api", "scale-payment-api")
            )
            # one runs, the lock skips the other: busy while it runs, or (on a slow machine that
            # decides the twin only after the run ended) within the same workflow's cooldown
            twins_done = twins in (
                [("Completed", "-"), ("Skipped", "ResourceBusy")],
                [("Completed", "-"), ("Skipped", "RecentlyRemediated")],
            )
            assert expected.items() <= table.items() and twins_done, (
                f"table: {table}; stderr: {''.join(errors)[-1500:]}"
            )
            return table

        wait_for(samples_done, timeout=480, interval=1.0, message="the samples to finish")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
        for reader in readers:
            reader.join(timeout=10)
    log = "".join(errors)
    assert code == 0, log[-3000:]
    assert "pushed the sample workflow bundle" in log
    assert "stopping the controller and the local cluster" in log
