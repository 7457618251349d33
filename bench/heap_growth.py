"""``python -m bench.heap_growth <dir> [--since T] [--until T]``: what grew in a traced controller
between two of its heap snapshots (``bench/traced_controller.py``, ``bench.soak
--trace-memory-every``).

Prints the memory lines over time (RSS, traced heap, glibc's heap and free space, threads), the
object types whose count changed most, and the allocation sites (grouped by traceback) whose live
size grew most between the snapshot nearest ``--since`` (default: the middle one) and the one
nearest ``--until`` (default: the last).
"""

from __future__ import annotations

import argparse
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def snapshots(directory: Path) -> list[tuple[float, Path]]:
    found = [(float(p.stem.split("-", 1)[1]), p) for p in directory.glob("heap-*.pickle")]
    return sorted(found)


def nearest(found: list[tuple[float, Path]], t: float) -> tuple[float, Path]:
    return min(found, key=lambda item: abs(item[0] - t))


def memory_lines(directory: Path) -> list[dict[str, Any]]:
    path = directory / "memory.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mib(line: dict[str, Any], key: str, scale: float = MIB) -> str:
    value = line.get(key)
    return "-" if value is None else f"{value / scale:7.1f}"


def print_memory(lines: list[dict[str, Any]]) -> None:
    print("    t   RSS  anon  traced  malloc-heap  malloc-free  mmapped  threads  (MiB)")
    for line in lines:
        print(
            f"{line['t']:5.0f} {_mib(line, 'rss_kib', 1024)} {_mib(line, 'anonymous_kib', 1024)}"
            f" {_mib(line, 'traced')} {_mib(line, 'malloc_heap')} {_mib(line, 'malloc_free')}"
            f" {_mib(line, 'malloc_mmapped')} {line.get('threads', '-'):>5}"
        )


def print_types(before: dict[str, Any], after: dict[str, Any], top: int) -> None:
    old, new = before.get("types", {}), after.get("types", {})
    changes = sorted(
        ((new.get(k, 0) - old.get(k, 0), k) for k in set(old) | set(new)),
        key=lambda c: -abs(c[0]),
    )
    print(f"\nobject counts, t={before['t']:.0f}s → t={after['t']:.0f}s (most changed):")
    for change, name in changes[:top]:
        print(f"  {change:+8d}  {name} ({new.get(name, 0)})")


def print_growth(before: Path, after: Path, top: int, group: str) -> None:
    old, new = tracemalloc.Snapshot.load(str(before)), tracemalloc.Snapshot.load(str(after))
    stats = new.compare_to(old, group)
    total = sum(s.size_diff for s in stats)
    print(f"\nheap {before.name} → {after.name}: {total / 1024:+.1f} KiB traced in all")
    for stat in stats[:top]:
        print(
            f"\n{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks"
            f" (now {stat.size / 1024:.1f} KiB in {stat.count})"
        )
        for line in stat.traceback.format(limit=8, most_recent_first=True):
            print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.heap_growth", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--since", type=float, default=None, help="seconds (default: middle)")
    parser.add_argument("--until", type=float, default=None, help="seconds (default: last)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--group", choices=("traceback", "lineno", "filename"), default="traceback")
    args = parser.parse_args(argv)
    found = snapshots(args.directory)
    lines = memory_lines(args.directory)
    if len(found) < 2:
        if len(lines) < 2:
            print(f"{args.directory}: fewer than two memory records", file=sys.stderr)
            return 1
        print_memory(lines)
        print_types(lines[len(lines) // 2], lines[-1], args.top)
        return 0
    t0, before = nearest(found, found[len(found) // 2][0] if args.since is None else args.since)
    t1, after = nearest(found, found[-1][0] if args.until is None else args.until)
    print_memory(lines)
    by_t = {line["t"]: line for line in lines}
    if lines:
        first = min(by_t.values(), key=lambda line: abs(line["t"] - t0))
        last = min(by_t.values(), key=lambda line: abs(line["t"] - t1))
        print_types(first, last, args.top)
    print_growth(before, after, args.top, args.group)
    return 0


if __name__ == "__main__":
    sys.exit(main())
