"""``python -m bench.soak --minutes 30 --out bench/out``: the controller, its own process, under a
steady trickle; its RSS and open files sampled over time (``soak.md``, ``soak.json``). Exits 1 only
on a real error, never because something grew."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.cli import run_and_report
from bench.scale import soak_report
from bench.scale.soak import SoakSettings, run
from wfe.runtime.log import configure_logging


def progress(message: str) -> None:
    print(f"[bench.soak] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    defaults = SoakSettings(minutes=30)
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=defaults.minutes)
    parser.add_argument("--rate", type=float, default=defaults.rate_per_s, help="workflows/s")
    parser.add_argument(
        "--sample-interval", type=float, default=defaults.sample_interval_s, help="seconds"
    )
    parser.add_argument(
        "--trace-memory-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="diagnostic: run the controller under tracemalloc and write a heap snapshot and a "
        "memory line this often into <out>/soak-memory (compare with python -m bench.heap_growth; "
        "its RSS is then not the deployed controller's)",
    )
    parser.add_argument(
        "--trace-frames",
        type=int,
        default=defaults.trace_frames,
        help="with --trace-memory-every: frames per traced allocation; 0 traces nothing and "
        "records only the memory lines (RSS split, glibc malloc, object counts), at no cost",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="report directory")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0 or args.sample_interval <= 0:
        parser.error("--minutes, --rate and --sample-interval must be positive")
    if args.trace_memory_every is not None and args.trace_memory_every <= 0:
        parser.error("--trace-memory-every must be positive")
    if args.trace_frames < 0:
        parser.error("--trace-frames must be 0 or more")
    settings = SoakSettings(
        minutes=args.minutes,
        rate_per_s=args.rate,
        sample_interval_s=args.sample_interval,
        trace_memory_every_s=args.trace_memory_every,
        trace_frames=args.trace_frames,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    configure_logging("warning", "console")
    progress(f"{settings.minutes:g} min at {settings.rate_per_s:g}/s; report in {args.out}")
    return run_and_report(
        "bench.soak",
        lambda: run(settings, args.out, progress),
        lambda results: soak_report.write(results, args.out),
        (args.out / "soak.md", args.out / "soak.json"),
        progress,
    )


if __name__ == "__main__":
    sys.exit(main())
