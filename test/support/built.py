"""Finds what a hack/ build script made: an explicit directory from the environment, or the
directory the script prints on its last line (building on first use, with its progress on our
stderr: a cold build takes many minutes and should say so as it goes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def built_directory(script: str, environment_variable: str, what: str) -> Path:
    """``$environment_variable`` if set, else the output directory of ``hack/<script>``."""
    explicit = os.environ.get(environment_variable)
    if explicit:
        return Path(explicit)
    result = subprocess.run(
        ["bash", str(REPO / "hack" / script)],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building {what} failed (hack/{script}, see above)")
    return Path(result.stdout.strip().splitlines()[-1])
