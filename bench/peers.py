"""The peers: a controller-runtime (Go) and a kopf implementation of the same controller, kept in a
shared directory outside this repository (read only). Each is built once into a cache of its own,
keyed by its sources, never into the shared directory: the Go binary with ``go build``, kopf in a
virtualenv of its own with the pinned version."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# the peers sit next to the checkout, in the shared folder of the team (../shared/peers)
DEFAULT_PEERS_DIR = Path(__file__).resolve().parents[2] / "shared" / "peers"
CACHE = Path.home() / ".cache" / "wfe-bench"
KOPF_REQUIREMENTS = ("kopf==1.45.2", "kubernetes>=31,<38")
GO_BINARY = "wfe-go-controller"


class PeerSetupError(RuntimeError):
    """A peer could not be found or built; the message says what to do."""


@dataclass(frozen=True)
class Peers:
    go_binary: Path
    kopf_executable: Path
    kopf_operator: Path  # the operator module ``kopf run`` loads


def peers_dir() -> Path:
    return Path(os.environ.get("WFE_PEERS_DIR", str(DEFAULT_PEERS_DIR)))


def _fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def go_peer(source: Path, cache: Path = CACHE) -> Path:
    """The controller-runtime peer's binary, built from ``source`` if this version is not cached."""
    files = [*source.glob("*.go"), source / "go.mod", source / "go.sum"]
    if not (source / "go.mod").exists():
        raise PeerSetupError(f"no Go peer at {source} (set WFE_PEERS_DIR)")
    binary = cache / f"go-peer-{_fingerprint(files)}" / GO_BINARY
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOFLAGS="-mod=readonly -buildvcs=false")  # never touches the sources
    built = subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise PeerSetupError(f"go build of the Go peer failed:\n{built.stderr[-3000:]}")
    return binary


def kopf_peer(cache: Path = CACHE) -> Path:
    """``kopf`` from a virtualenv of its own with the pinned kopf; created if missing."""
    venv = cache / "kopf-1.45.2-venv"
    executable = venv / "bin" / "kopf"
    if executable.exists():
        return executable
    for step in (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "-q", *KOPF_REQUIREMENTS],
    ):
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PeerSetupError(f"{' '.join(step)} failed:\n{done.stderr[-3000:]}")
    return executable


def prepare(source: Path | None = None) -> Peers:
    """Builds (or finds in the cache) both peers."""
    root = source or peers_dir()
    operator = root / "kopf" / "wfe_kopf.py"
    if not operator.exists():
        raise PeerSetupError(f"no kopf peer at {operator} (set WFE_PEERS_DIR)")
    return Peers(go_peer(root / "go-controller-runtime"), kopf_peer(), operator)
