"""``python bench/traced_controller.py <dir> <interval-s> <frames> -- <wfe-controller flags>``: the
controller with its memory recorded over time, for finding what grows in a soak (diagnostic only).

Run by the controller virtualenv's own interpreter as a plain script (that virtualenv has no
``bench``), so standard library only. It starts ``tracemalloc`` with ``frames`` frames per
allocation (``frames`` 0: no tracing, the memory lines only, at no cost to the controller), then runs
``wfe.cmd.main`` with the flags; a daemon thread writes, every ``interval`` seconds, into ``dir``:

- ``heap-<t>.pickle``: a tracemalloc snapshot (``tracemalloc.Snapshot.load``), this module's own
  allocations and tracemalloc's filtered out;
- one JSON line in ``memory.jsonl``: ``t`` (seconds since start), the RSS and its split
  (``/proc/self/smaps_rollup``: anonymous, file-backed), the traced heap, glibc's ``mallinfo2``
  (bytes in use, free in the heap, mmapped), thread count, and the count of every live object by
  type (``gc.get_objects``, the tracked containers only).

``bench.heap_growth`` compares two snapshots. Tracing costs CPU (a traced controller falls behind
sooner) and memory of its own (not in the snapshots, but in the RSS): compare snapshots with each
other, never a traced RSS with an untraced one.
"""

from __future__ import annotations

import ctypes
import gc
import json
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

TOP_TYPES = 40


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",  # non-mmapped space allocated (bytes)
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",  # space in mmapped regions
            "usmblks",
            "fsmblks",
            "uordblks",  # total allocated space
            "fordblks",  # total free space
            "keepcost",
        )
    ]


def _mallinfo() -> dict[str, int]:
    try:
        libc = ctypes.CDLL(None)
        function = libc.mallinfo2
    except (OSError, AttributeError):
        return {}
    function.restype = _MallInfo2
    info = function()
    return {
        "malloc_heap": info.arena,
        "malloc_mmapped": info.hblkhd,
        "malloc_in_use": info.uordblks,
        "malloc_free": info.fordblks,
    }


def _smaps() -> dict[str, int]:
    wanted = {"Rss", "Anonymous", "Pss_File", "Pss_Anon"}
    found: dict[str, int] = {}
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in wanted:
                found[key.lower() + "_kib"] = int(value.split()[0])
    except OSError:
        pass
    return found


def _types() -> dict[str, int]:
    counts = Counter(type(o).__qualname__ for o in gc.get_objects())
    return dict(counts.most_common(TOP_TYPES))


def _record(directory: Path, began: float) -> None:
    t = time.monotonic() - began
    line: dict[str, Any] = {"t": round(t, 1)}
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot().filter_traces(
            (
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, __file__),
            )
        )
        snapshot.dump(str(directory / f"heap-{t:07.0f}.pickle"))
        line["traced"], line["traced_peak"] = tracemalloc.get_traced_memory()
    line |= {
        "threads": threading.active_count(),
        **_smaps(),
        **_mallinfo(),
        "types": _types(),
    }
    with (directory / "memory.jsonl").open("a") as out:
        out.write(json.dumps(line) + "\n")


def _recorder(directory: Path, interval: float, began: float) -> None:
    while True:
        time.sleep(interval)
        try:
            _record(directory, began)
        except Exception as err:  # a diagnostic never takes the controller down
            print(f"traced_controller: recording failed: {err!r}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    directory, interval, frames = Path(argv[0]), float(argv[1]), int(argv[2])
    # run as a script, this file's directory (bench/) leads sys.path: the controller must not see it
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != here]
    directory.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    if frames > 0:
        tracemalloc.start(frames)
    threading.Thread(
        target=_recorder, args=(directory, interval, began), name="heap-recorder", daemon=True
    ).start()
    from wfe.cmd import main as controller_main  # imported once traced: its allocations are seen

    return controller_main(argv[4:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
