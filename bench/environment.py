"""Where a run happened: the figures only compare within one run, but a reader needs the setting."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import controller_venv
from bench.cluster import api_server_version
from wfe.cmd import controller_version
from wfe.runtime.client import Client


@dataclass(frozen=True)
class Environment:
    started: str
    cpus: int  # usable by this process (affinity), not the host's count
    host_cpus: int
    python: str
    platform: str
    api_server: str
    controller: str
    # which virtualenv runs wfe-controller (bench/controller_venv.py); older results lack it
    controller_venv: str = "a runtime-only virtualenv"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect(client: Client, binaries: Path) -> Environment:
    return Environment(
        started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cpus=len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 0,
        host_cpus=os.cpu_count() or 0,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        platform=platform.platform(),
        api_server=api_server_version(client, binaries),
        controller=controller_version(),
        controller_venv=controller_venv.controller().kind_description,
    )
