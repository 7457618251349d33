"""``python -m bench.flips --workers 16 --repeats 3 --out bench/out``: the scale flip repeated,
ours and the bare client in turns on one seeded cluster (``flips.md``, ``flips.json``). Exits 1
only on a real error, never because a target was missed."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from bench.errors import unwind_on_sigterm
from bench.scale import repeated_flips
from bench.scale.repeated_flips import FlipsSettings
from bench.scale.sizes import SCALE_SIZES
from wfe.runtime.log import configure_logging

EXIT_ERROR = 1


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
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="report directory")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    settings = FlipsSettings(
        workers=args.workers,
        repeats=args.repeats,
        floor=not args.no_floor,
        size=SCALE_SIZES[args.size],
    )
    args.out.mkdir(parents=True, exist_ok=True)
    configure_logging("warning", "console")
    progress(f"{settings.flips} flips of {settings.size.flip:,}; report in {args.out}")
    unwind_on_sigterm()
    try:
        results = repeated_flips.run(settings, args.out, progress)
    except Exception:
        traceback.print_exc()
        print("bench.flips: failed (everything started was torn down)", file=sys.stderr)
        return EXIT_ERROR
    main_table = repeated_flips.write(results, args.out)
    progress(f"report in {args.out / 'flips.md'} and {args.out / 'flips.json'}")
    print(main_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
