"""INTERIM stand-in for bench/controller_process.py (branch wip/bench-oop), same API; removed at
the merge."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from wfe.runtime.envtest import processes

READY_TIMEOUT = 120.0


class ControllerProcess:
    def __init__(self, popen: subprocess.Popen[bytes], metrics_port: int, probe_port: int):
        self._popen = popen
        self.metrics_port = metrics_port
        self.probe_port = probe_port
        self.started_at = time.monotonic()

    @classmethod
    def start(
        cls, command: list[str], log: Path, metrics_port: int, probe_port: int
    ) -> ControllerProcess:
        began = time.monotonic()
        process = cls(processes.spawn(command, log), metrics_port, probe_port)
        process.started_at = began
        deadline = began + READY_TIMEOUT
        while time.monotonic() < deadline:
            process.check_alive()
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{probe_port}/readyz", timeout=2
                ) as answer:
                    if answer.status == 200:
                        return process
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        process.stop()
        raise RuntimeError("controller not ready")

    @property
    def pid(self) -> int:
        return self._popen.pid

    def _status(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                out[key] = int(parts[0])
        return out

    def rss_kib(self) -> int:
        return self._status()["VmRSS"]

    def peak_rss_kib(self) -> int:
        return self._status()["VmHWM"]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def scrape(self) -> str:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30
        ) as answer:
            return str(answer.read().decode())

    def check_alive(self) -> None:
        if self._popen.poll() is not None:
            raise RuntimeError(f"controller exited with {self._popen.returncode}")

    def stop(self) -> None:
        processes.stop(self._popen, timeout=35)
