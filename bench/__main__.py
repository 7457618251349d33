"""``python -m bench``: run the benchmark, write the report, print it.

The controller runs as its own process (``wfe-controller``, as deployed) next to a load process;
the harness's interpreter holds only the observer. ``--peers`` runs the Go controller-runtime and
kopf peers in the same run, interleaved. Exits 1 only on a real error (a system broke, the control
plane would not start), never because a figure missed a floor or a peer: the report says that.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import plot, report
from bench.affinity import allowed_cpus
from bench.arguments import comma_separated
from bench.cli import run_and_report
from bench.run import load_results, run
from bench.settings import ALL_SETTINGS, SHARED
from bench.sizes import SIZES
from bench.systems import PEERS, PYTHON


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the WorkflowExecution controller (and, with --peers, the Go and "
        "kopf peers) against a local control plane, each as its own process.",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="smoke")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="report directory")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run the peers (WFE_PEERS_DIR, default ../shared/peers next to the checkout)",
    )
    parser.add_argument(
        "--settings",
        type=lambda t: comma_separated(t, ALL_SETTINGS),
        default=None,
        help=f"comma-separated, from {', '.join(ALL_SETTINGS)} (default: both; {SHARED} alone "
        "on a single CPU)",
    )
    parser.add_argument(
        "--repeats", type=int, help="runs per system and setting (default: the size's)"
    )
    parser.add_argument(
        "--report-from",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="measure nothing: write one report (and plots) into --out from earlier report.json "
        "files, e.g. one per setting",
    )
    args = parser.parse_args(argv)
    if args.report_from:
        merged = load_results([json.loads(path.read_text()) for path in args.report_from])
        args.out.mkdir(parents=True, exist_ok=True)
        print(report.write(merged, args.out, plot.draw(merged, args.out)))
        return 0
    size, out = SIZES[args.size], args.out
    out.mkdir(parents=True, exist_ok=True)
    systems = [PYTHON, *PEERS] if args.peers else [PYTHON]
    repeats = args.repeats or size.repeats
    if args.settings is None:
        args.settings = list(ALL_SETTINGS) if len(allowed_cpus()) >= 2 else [SHARED]
    progress(
        f"size {size.name}, {repeats} repeat(s), {', '.join(systems)}, {', '.join(args.settings)}; "
        f"controller logs in {out / 'logs'}"
    )
    return run_and_report(
        "bench",
        lambda: run(
            size, progress, systems=systems, settings=args.settings, repeats=repeats, out=out
        ),
        lambda results: report.write(results, out, plot.draw(results, out)),
        (out / "report.md", out / "report.json"),
        progress,
    )


if __name__ == "__main__":
    sys.exit(main())
