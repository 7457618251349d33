"""The ``wfe-controller`` the benchmarks run: the controller as deployed, not the dev virtualenv's.

The image (``Dockerfile``) holds a virtualenv with ``requirements/runtime.txt`` (hash-checked) and
the package installed from a wheel with ``--no-deps``; nothing else. The dev virtualenv (``.venv``)
also holds the test and dev tools, and some of the controller's dependencies import what they find:
``import structlog`` imports ``rich`` (and pygments) when it is installed, ~4.5 MiB of resident
memory and ~80 modules the deployed pod never loads; the dev venv's editable install adds an import
hook of its own. Measured from there, the controller's RSS would be the dev environment's.

So the benchmarks build that runtime virtualenv the way the Dockerfile does — a wheel of this
checkout's ``pyproject.toml``, ``wfe/`` and ``api/`` (copied to a temporary directory, so nothing is
written into the checkout), the hashed runtime lock, bytecode compiled at install time as pip does
— into ``~/.cache/wfe-bench/controller-<key>/``, keyed by the lock file, the interpreter and the
package's sources: built once per version (``uv`` when it is next to this interpreter, a few
seconds; ``pip`` otherwise), never changed afterwards (a soak running from one is never disturbed by
a later build), and unused ones pruned after a week.

``WFE_BENCH_CONTROLLER_VENV`` chooses another: ``dev`` runs the console script next to the
interpreter running the benchmark (the dev venv: quicker to iterate on, but its memory figures are
not the deployed controller's); a path runs ``<path>/bin/wfe-controller`` of a virtualenv built by
hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path.home() / ".cache" / "wfe-bench"
ENV_CHOICE = "WFE_BENCH_CONTROLLER_VENV"
RUNTIME, DEV = "runtime", "dev"
SCRIPT = "wfe-controller"
_COMPLETE = ".complete"  # written last: a directory without it is a build that did not finish
_PREFIX = "controller-"
_LOCK = "controller-venvs.lock"  # one for every build and prune: they are rare
_UNUSED_FOR_S = 7 * 24 * 3600.0
_PACKAGE_SOURCES = ("pyproject.toml", "README.md", "wfe", "api")  # what the Dockerfile copies


class ControllerVenvError(RuntimeError):
    """The runtime virtualenv could not be built; the message says why and what else to run."""


@dataclass(frozen=True)
class Controller:
    """Which ``wfe-controller`` runs, and how it was chosen (for the logs and the report)."""

    script: Path
    kind: str  # "runtime" (as deployed), "dev" or "path"

    @property
    def venv(self) -> Path:
        return self.script.parent.parent

    @property
    def kind_description(self) -> str:
        return {
            RUNTIME: "a runtime-only virtualenv, as deployed: requirements/runtime.txt + the wheel",
            DEV: "the dev virtualenv (test and dev tools installed: not the deployed memory)",
        }.get(self.kind, f"a virtualenv chosen with {ENV_CHOICE}")

    def describe(self) -> str:
        return f"{self.script} ({self.kind_description})"


@functools.cache
def controller() -> Controller:
    """The controller to run, chosen by ``WFE_BENCH_CONTROLLER_VENV`` (default: the runtime venv,
    built on first use). Chosen once per process, so every run of one benchmark uses the same one;
    the choice is printed on stderr (each controller's log also starts with its command line)."""
    chosen = choose(os.environ.get(ENV_CHOICE, ""))
    print(f"wfe-controller: {chosen.describe()}", file=sys.stderr, flush=True)
    return chosen


def choose(choice: str) -> Controller:
    choice = choice.strip() or RUNTIME
    if choice == DEV:
        return Controller(Path(sys.executable).parent / SCRIPT, DEV)
    if choice != RUNTIME:
        script = Path(choice).expanduser() / "bin" / SCRIPT
        if not script.exists():
            raise ControllerVenvError(f"{ENV_CHOICE}={choice}: there is no {script}")
        return Controller(script, "path")
    return Controller(runtime_venv() / "bin" / SCRIPT, RUNTIME)


def runtime_venv(root: Path = ROOT, cache: Path = CACHE) -> Path:
    """The runtime virtualenv for ``root``'s lock file and sources, built if it is not cached."""
    lock = root / "requirements" / "runtime.txt"
    if not lock.exists():
        raise ControllerVenvError(f"no lock file {lock}")
    key = fingerprint(root)
    venv = cache / f"{_PREFIX}{key}"
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / _LOCK):
        if (venv / _COMPLETE).exists():
            os.utime(venv / _COMPLETE)  # in use: not pruned
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # a build that did not finish
        try:
            _build(root, lock, venv)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        (venv / _COMPLETE).write_text(
            json.dumps({"python": sys.version.split()[0], "lock": str(lock), "source": str(root)})
        )
        prune(cache, keep=venv)
    return venv


def fingerprint(root: Path) -> str:
    """A hash of what the runtime venv is made of: the interpreter, the lock, the package sources."""
    digest = hashlib.sha256()
    digest.update(f"{sys.implementation.name}-{sys.version}".encode())
    for path in [root / "requirements" / "runtime.txt", *_package_files(root)]:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def prune(cache: Path, keep: Path, unused_for_s: float = _UNUSED_FOR_S) -> list[Path]:
    """Removes runtime venvs not used for ``unused_for_s`` (never ``keep``); returns them. The
    caller holds the cache's lock."""
    removed = []
    now = time.time()
    for marker in cache.glob(f"{_PREFIX}*/{_COMPLETE}"):
        venv = marker.parent
        if venv == keep or now - marker.stat().st_mtime < unused_for_s:
            continue
        shutil.rmtree(venv, ignore_errors=True)
        removed.append(venv)
    return removed


def _package_files(root: Path) -> list[Path]:
    files = []
    for name in _PACKAGE_SOURCES:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return sorted(files)


def _build(root: Path, lock: Path, venv: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    with tempfile.TemporaryDirectory(prefix="wfe-wheel-") as tmp:
        wheel = _wheel(root, Path(tmp))
        python = str(venv / "bin" / "python")
        if uv.exists():
            install = [str(uv), "pip", "install", "--quiet", "--python", python]
            steps = [
                [str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)],
                [*install, "--require-hashes", "--compile-bytecode", "-r", str(lock)],
                [*install, "--no-deps", "--compile-bytecode", str(wheel)],
            ]
        else:  # the Dockerfile's own commands
            install = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
            steps = [
                [sys.executable, "-m", "venv", "--without-pip", str(venv)],
                [*install, "--require-hashes", "-r", str(lock)],
                [*install, "--no-deps", str(wheel)],
            ]
        for step in steps:
            _run(step)
    if not (venv / "bin" / SCRIPT).exists():
        raise ControllerVenvError(f"the runtime virtualenv {venv} has no bin/{SCRIPT}")


def _wheel(root: Path, tmp: Path) -> Path:
    """A wheel of the package, built from a copy of the files the Dockerfile copies."""
    source = tmp / "src"
    source.mkdir()
    for name in _PACKAGE_SOURCES:
        path = root / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            shutil.copy2(path, source / name)
    dist = tmp / "dist"
    wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    _run([*wheel, "--wheel-dir", str(dist), str(source)])
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        raise ControllerVenvError(f"expected one wheel in {dist}, found {wheels}")
    return wheels[0]


def _run(argv: Sequence[str]) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ControllerVenvError(
            f"building the runtime virtualenv failed: {' '.join(argv)} exited with "
            f"{done.returncode}:\n{(done.stderr or done.stdout)[-3000:]}\n"
            f"(needs the package index or a warm cache; {ENV_CHOICE}=dev runs the dev venv's "
            f"{SCRIPT} instead, whose memory figures are not the deployed controller's)"
        )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (two worktrees' benchmarks building the same venv)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
