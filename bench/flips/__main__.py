"""``python -m bench.flips --workers 16 --repeats 3 --out bench/out``: the scale flip repeated,
ours and the bare client (``--go-peer``: and the Go peer) in turns on one seeded cluster
(``flips.md``, ``flips.json``). Exits 1 only on a real error, never because a target was missed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.cli import run_and_report
from bench.scale import repeated_flips
from bench.scale.repeated_flips import FlipsSettings
from bench.scale.sizes import SCALE_SIZES
from wfe.runtime.log import configure_logging


def progress(message: str) -> None:
    print(f"[bench.flips] {message}", file=sys.stderr, flush=True)


def _workers(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected workers like 4,16, not {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("each worker count must be 1 or more")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flips", description=__doc__)
    parser.add_argument("--size", choices=sorted(SCALE_SIZES), default="full")
    parser.add_argument(
        "--workers", type=_workers, default=(16,), help="comma-separated, e.g. 4,16"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--no-floor", action="store_true", help="ours only, without the bare client's flips"
    )
    parser.add_argument(
        "--go-peer",
        action="store_true",
        help="also the Go controller-runtime peer from $WFE_PEERS_DIR, with as many workers",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="report directory")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    settings = FlipsSettings(
        workers=args.workers,
        repeats=args.repeats,
        floor=not args.no_floor,
        go_peer=args.go_peer,
        size=SCALE_SIZES[args.size],
    )
    args.out.mkdir(parents=True, exist_ok=True)
    configure_logging("warning", "console")
    progress(f"{settings.flips} flips of {settings.size.flip:,}; report in {args.out}")
    return run_and_report(
        "bench.flips",
        lambda: repeated_flips.run(settings, args.out, progress),
        lambda results: repeated_flips.write(results, args.out),
        (args.out / "flips.md", args.out / "flips.json"),
        progress,
    )


if __name__ == "__main__":
    sys.exit(main())
