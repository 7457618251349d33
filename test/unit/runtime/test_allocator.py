"""The malloc arena cap: threads started after ``limit_malloc_arenas`` share at most two arenas.

Each case runs in a fresh interpreter (arenas, once made, stay for the life of a process) and counts
the arenas glibc reports in ``malloc_info``. glibc gives a new thread's first ``malloc`` an arena of
its own while there are fewer than the limit, so the uncapped control shows more than two.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wfe.runtime.allocator import ENV_VAR, limit_malloc_arenas

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only"
)

_PROGRAM = textwrap.dedent(
    """
    import ctypes, sys, threading
    from wfe.runtime.allocator import limit_malloc_arenas

    set_here = limit_malloc_arenas() if sys.argv[1] == "cap" else None
    held, ready = [], threading.Barrier(9)

    def allocate():
        held.append([bytes(4096) for _ in range(16)])  # over pymalloc's 512 bytes: malloc
        ready.wait()  # every thread alive at once, each with its own allocations

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    ready.wait()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    stream = libc.fopen(sys.argv[2].encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    for thread in threads:
        thread.join()
    print(set_here)
    """
)


def _arenas(tmp_path: Path, mode: str, env: dict[str, str]) -> tuple[int, str]:
    report = tmp_path / f"malloc-{mode}.xml"
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, mode, str(report)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return report.read_text().count("<heap nr="), done.stdout.strip()


def _env_without_cap() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != ENV_VAR}


def test_threads_share_two_arenas_after_the_cap(tmp_path: Path) -> None:
    uncapped, _ = _arenas(tmp_path, "none", _env_without_cap())
    capped, set_here = _arenas(tmp_path, "cap", _env_without_cap())
    assert uncapped > 2, "the control: without the cap, the eight threads get arenas of their own"
    assert capped <= 2
    assert set_here == "True"


def test_the_operators_setting_wins(tmp_path: Path) -> None:
    arenas, set_here = _arenas(tmp_path, "cap", {**_env_without_cap(), ENV_VAR: "4"})
    assert set_here == "False"
    assert 2 < arenas <= 4  # glibc applied the operator's 4, and the call left it


def test_at_least_one_arena() -> None:
    with pytest.raises(ValueError, match="at least one"):
        limit_malloc_arenas(0, environ={})
