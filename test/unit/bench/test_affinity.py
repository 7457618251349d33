"""Pinning a running process's every thread, and finding children by command name."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.affinity import allowed_cpus, children_named, cpus_of, pin

# a child with three extra threads, all blocked on an Event nobody sets until the test kills it
THREADS = "import threading; e = threading.Event(); [threading.Thread(target=e.wait, daemon=True).start() for _ in range(3)]; print('up', flush=True); e.wait()"


def test_pins_every_thread_of_a_child_found_by_its_command_name() -> None:
    child = subprocess.Popen([sys.executable, "-c", THREADS], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"
        found = children_named({"python3", "python3.11", "python"})
        assert child.pid in found.values()
        cpu = allowed_cpus()[-1]
        pin(child.pid, {cpu})
        tasks = [int(t) for t in os.listdir(f"/proc/{child.pid}/task")]
        assert len(tasks) == 4
        assert all(cpus_of(task) == {cpu} for task in tasks)
    finally:
        child.kill()
        child.wait()
