"""Which wfe-controller the benchmarks run: the runtime-only virtualenv's, cached by what it is made
of, unless another one is chosen. (Building one needs the package index; the benchmarks do that.)"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from bench import controller_venv
from bench.controller_venv import ControllerVenvError, choose, fingerprint, prune, runtime_venv


def _checkout(root: Path) -> Path:
    (root / "requirements").mkdir(parents=True)
    (root / "requirements" / "runtime.txt").write_text(
        "structlog==26.1.0 \\\n    --hash=sha256:00\n"
    )
    (root / "pyproject.toml").write_text("[project]\nname = 'wfe-controller'\n")
    (root / "wfe").mkdir()
    (root / "wfe" / "cmd.py").write_text("def main() -> int:\n    return 0\n")
    (root / "api").mkdir()
    (root / "api" / "types.py").write_text("X = 1\n")
    return root


def test_the_dev_choice_runs_the_console_script_next_to_this_interpreter() -> None:
    chosen = choose("dev")
    assert chosen.script == Path(sys.executable).parent / "wfe-controller"
    assert "not the deployed memory" in chosen.describe()


def test_a_chosen_virtualenv_must_have_the_console_script(tmp_path: Path) -> None:
    with pytest.raises(ControllerVenvError, match="there is no"):
        choose(str(tmp_path))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "wfe-controller").write_text("#!/bin/sh\n")
    assert choose(str(tmp_path)).venv == tmp_path


def test_the_key_changes_with_the_lock_and_the_package_sources_only(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "src")
    first = fingerprint(root)
    (root / "wfe" / "__pycache__").mkdir()
    (root / "wfe" / "__pycache__" / "cmd.cpython-311.pyc").write_bytes(b"\0")
    (root / "test").mkdir()
    (root / "test" / "test_x.py").write_text("")
    assert fingerprint(root) == first  # bytecode and tests are not part of the image
    (root / "wfe" / "cmd.py").write_text("def main() -> int:\n    return 1\n")
    second = fingerprint(root)
    assert second != first
    (root / "requirements" / "runtime.txt").write_text("structlog==26.2.0\n")
    assert fingerprint(root) not in (first, second)


def test_a_built_runtime_venv_is_reused_as_it_is(tmp_path: Path) -> None:
    root, cache = _checkout(tmp_path / "src"), tmp_path / "cache"
    venv = cache / f"controller-{fingerprint(root)}"
    (venv / "bin").mkdir(parents=True)
    (venv / ".complete").write_text("{}")
    os.utime(venv / ".complete", (1.0, 1.0))
    assert runtime_venv(root, cache) == venv
    assert time.time() - (venv / ".complete").stat().st_mtime < 60  # marked as used


def test_a_checkout_without_the_lock_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ControllerVenvError, match="no lock file"):
        runtime_venv(tmp_path, tmp_path / "cache")


def test_venvs_unused_for_a_week_are_pruned_but_never_the_one_in_use(tmp_path: Path) -> None:
    def venv(name: str, age_s: float) -> Path:
        path = tmp_path / f"controller-{name}"
        path.mkdir()
        (path / ".complete").write_text("{}")
        stamp = time.time() - age_s
        os.utime(path / ".complete", (stamp, stamp))
        return path

    week = 7 * 24 * 3600.0
    old, recent, current = venv("old", week + 60), venv("recent", 60), venv("current", week + 60)
    unfinished = tmp_path / "controller-unfinished"  # another build in progress: no marker yet
    unfinished.mkdir()
    assert prune(tmp_path, keep=current) == [old]
    assert not old.exists()
    assert recent.exists() and current.exists() and unfinished.exists()


def test_a_failed_build_step_says_what_failed_and_what_else_to_run() -> None:
    with pytest.raises(ControllerVenvError) as failed:
        controller_venv._run([sys.executable, "-c", "import sys; sys.exit('no index here')"])
    message = str(failed.value)
    assert "no index here" in message
    assert f"{controller_venv.ENV_CHOICE}=dev" in message
