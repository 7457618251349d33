"""A controller under measurement, run as an OS process of its own, and what /proc says about it.

``ControllerProcess`` starts a command (the project's ``wfe-controller``, a peer) in its own session
with its output in a log file, optionally pinned to some CPUs, waits until it answers its readiness
probe (or its metrics endpoint), and reads its CPU time, memory and open files from ``/proc``.
Stopping is SIGTERM, then SIGKILL after a timeout. Standard library only: other harnesses (scale,
soak) reuse it as is.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
_POLL_S = 0.1
_HTTP_TIMEOUT_S = 5.0
_LOG_TAIL_LINES = 20


class ControllerProcessError(RuntimeError):
    """The controller process would not start, got stuck, or exited while it should run."""


class ControllerProcess:
    """One controller process.

    ``ready_url`` (e.g. ``http://127.0.0.1:8081/readyz``) is polled until it answers 200 after
    ``start()``; ``metrics_url`` is what ``scrape()`` reads (plain HTTP) and, without a ready URL,
    what readiness waits on. ``cpus`` pins the process (and every thread it starts) to those CPUs.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        ready_url: str | None = None,
        metrics_url: str | None = None,
        cpus: Collection[int] | None = None,
        name: str | None = None,
    ):
        self.argv = list(argv)
        self.name = name or Path(self.argv[0]).name
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.ready_url = ready_url
        self.metrics_url = metrics_url
        self.cpus = frozenset(cpus) if cpus else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._clock_ticks = os.sysconf("SC_CLK_TCK")

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, ready_timeout: float = READY_TIMEOUT_S) -> ControllerProcess:
        """Starts the process; returns once it is ready (raises if it exits or never answers)."""
        if self._proc is not None:
            raise ControllerProcessError(f"{self.name} was already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cpus = self.cpus
        with self.log_path.open("ab") as log:
            # which executable ran (which virtualenv), for whoever reads the figures later
            log.write(f"# {shlex.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C at the terminal reaches only the harness
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,  # noqa: PLW1509 - one syscall, no locks
            )
        try:
            self.wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        url = self.ready_url or self.metrics_url
        if url is None:
            self.check_alive()
            return
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(url, timeout=_HTTP_TIMEOUT_S) as answer:
                    if answer.status == 200:
                        return
                    last = f"HTTP {answer.status}"
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}"
            except (urllib.error.URLError, OSError) as err:
                last = str(err)
            time.sleep(_POLL_S)
        raise ControllerProcessError(
            f"{self.name} not ready at {url} within {timeout:g}s ({last}):\n{self.log_tail()}"
        )

    def check_alive(self) -> None:
        """Raises if the process has exited (with the tail of its log)."""
        proc = self._started()
        if proc.poll() is not None:
            raise ControllerProcessError(
                f"{self.name} exited with {proc.returncode}:\n{self.log_tail()}"
            )

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM to the process, SIGKILL after ``timeout``; returns its exit code (None if it was
        never started). Idempotent."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        return proc.returncode

    def __enter__(self) -> ControllerProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- what it costs ---------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._started().pid

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads) so far, from /proc/<pid>/stat."""
        # the command name (field 2) may hold spaces and parentheses: split after its last ")"
        fields = self._proc_file("stat").rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / self._clock_ticks

    def rss_kib(self) -> int:
        """Resident memory now (VmRSS)."""
        return self._status_field("VmRSS")

    def peak_rss_kib(self) -> int:
        """The resident high-water mark since the process started (VmHWM)."""
        return self._status_field("VmHWM")

    def open_fds(self) -> int:
        """Open file descriptors (sockets included)."""
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except FileNotFoundError as err:
            raise ControllerProcessError(f"{self.name} is gone") from err

    def threads(self) -> int:
        return self._status_field("Threads")

    def scrape(self, timeout: float = _HTTP_TIMEOUT_S) -> str:
        """The metrics endpoint's text (raises if there is none or it does not answer 200)."""
        if self.metrics_url is None:
            raise ControllerProcessError(f"{self.name} has no metrics endpoint")
        with urllib.request.urlopen(self.metrics_url, timeout=timeout) as answer:
            text: str = answer.read().decode()
        return text

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # --- internals -------------------------------------------------------------------------------

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise ControllerProcessError(f"{self.name} was not started")
        return self._proc

    def _proc_file(self, name: str) -> str:
        try:
            return Path(f"/proc/{self.pid}/{name}").read_text()
        except FileNotFoundError as err:
            raise ControllerProcessError(f"{self.name} is gone") from err

    def _status_field(self, key: str) -> int:
        """The first number of ``key`` in /proc/<pid>/status (memory fields are in KiB)."""
        for line in self._proc_file("status").splitlines():
            field, _, value = line.partition(":")
            if field == key:
                return int(value.split()[0])
        raise ControllerProcessError(f"/proc/{self.pid}/status has no {key}")
