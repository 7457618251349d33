"""glibc's malloc sized for a process of a dozen threads: at most two arenas (``MALLOC_ARENA_MAX=2``).

glibc gives each new thread that allocates an arena of its own, up to eight per core, and keeps what
a thread frees in that thread's arena for it alone. The controller runs ~17 threads (workers,
reflectors, handler delivery, the queues, the Event sender, the HTTP servers), so a 2-core pod ends
up with 16 arenas, each holding free memory the others cannot use: RSS that is neither live data
nor given back (docs/performance.md, "Peak RSS: malloc arenas"). Two arenas is what the JVM and Go
runtime images commonly set for the same reason. Python's own small objects are not concerned
(pymalloc); what goes through malloc is every object over 512 bytes: JSON bodies, the store's
compact objects, dictionaries' tables, OpenSSL's buffers.

``limit_malloc_arenas`` sets it through ``mallopt`` at start-up, before any thread starts, so the
controller gets it however it is started (the image, a plain ``pip install``, the benchmarks). An
operator's ``MALLOC_ARENA_MAX`` wins: glibc applied it at start, and it is left alone. Elsewhere than
glibc (musl has no arenas) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping
from typing import Final

ENV_VAR: Final = "MALLOC_ARENA_MAX"
DEFAULT_MAX_ARENAS: Final = 2
_M_ARENA_MAX: Final = -8  # glibc's malloc.h


def limit_malloc_arenas(
    max_arenas: int = DEFAULT_MAX_ARENAS, environ: Mapping[str, str] = os.environ
) -> bool:
    """Caps glibc's malloc arenas at ``max_arenas``; True if this call set the cap. Call it before
    starting threads: arenas made before the call stay. ``MALLOC_ARENA_MAX`` in ``environ`` (the
    operator's choice, already applied by glibc) leaves the setting as it is."""
    if max_arenas < 1:
        raise ValueError(f"at least one malloc arena is needed, not {max_arenas}")
    if environ.get(ENV_VAR, "").strip():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or one without mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, max_arenas) == 1)  # musl's mallopt does nothing: 0
