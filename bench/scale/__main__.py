"""``python -m bench.scale --size smoke|full --out bench/out``: the scale run, its report in
``scale.md`` and ``scale.json``. Exits 1 only on a real error, never because a target was missed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.arguments import comma_separated
from bench.cli import run_and_report
from bench.scale import report
from bench.scale.references import MORE_WORKERS, ReferenceOptions
from bench.scale.run import run
from bench.scale.sizes import SCALE_SIZES
from wfe.runtime.log import configure_logging

REFERENCES = ("peer", "workers", "floor")


def progress(message: str) -> None:
    print(f"[bench.scale] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description="Scale: cold start, memory and lock check with N WorkflowExecutions in the "
        "cluster, and N Running flipped to Succeeded at once, the controller in its own process.",
    )
    parser.add_argument("--size", choices=sorted(SCALE_SIZES), default="smoke")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="report directory")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also measure the references in the same run: the Go controller-runtime peer's cold "
        "start and flip (WFE_PEERS_DIR, default ../shared/peers next to the checkout), ours with "
        "more workers for one more flip, and the bare client's floor (a LIST of every WFE; a flip "
        "with no controller)",
    )
    parser.add_argument(
        "--more-workers",
        type=int,
        default=MORE_WORKERS,
        help="with --peers: the workers of our extra flip (0: none)",
    )
    parser.add_argument(
        "--references",
        type=lambda t: comma_separated(t, REFERENCES),
        default=REFERENCES,
        help="with --peers: which references, comma-separated (default: all of "
        f"{','.join(REFERENCES)}); fewer keep a full-size run within minutes on a busy machine",
    )
    args = parser.parse_args(argv)
    if args.more_workers < 0:
        parser.error("--more-workers must be 0 or more")
    options = (
        ReferenceOptions(
            peer="peer" in args.references,
            more_workers=args.more_workers if "workers" in args.references else 0,
            floor="floor" in args.references,
        )
        if args.peers
        else None
    )
    size, out = SCALE_SIZES[args.size], args.out
    out.mkdir(parents=True, exist_ok=True)
    configure_logging("warning", "console")  # the harness's own informers: quiet
    progress(f"size {size.name}; controller log in {out / 'controller.log'}")
    return run_and_report(
        "bench.scale",
        lambda: run(size, out, progress, options),
        lambda results: report.write(results, out),
        (out / "scale.md", out / "scale.json"),
        progress,
    )


if __name__ == "__main__":
    sys.exit(main())
