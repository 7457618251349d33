"""``python -m bench --size smoke|full --out bench/out``: run the benchmark, write the report, print
its table. Exits 1 only on a real error (the controller broke, the control plane would not start),
never because a figure missed its floor: the report says that."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from bench import plot, report
from bench.run import run
from bench.sizes import SIZES
from wfe.runtime.log import configure_logging

EXIT_ERROR = 1
CONTROLLER_LOG = "controller.log"


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the WorkflowExecution controller against a local control plane.",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="smoke", help="smoke (CI) or full")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="report directory")
    args = parser.parse_args(argv)
    size, out = SIZES[args.size], args.out
    out.mkdir(parents=True, exist_ok=True)

    # the controller logs at info, as in production, into a file instead of the terminal
    with (out / CONTROLLER_LOG).open("w") as controller_log:
        configure_logging("info", "json", stream=controller_log)
        progress(f"size {size.name}; controller log in {out / CONTROLLER_LOG}")
        try:
            results = run(size, progress)
        except Exception:
            traceback.print_exc()
            print("bench: failed (everything started was torn down)", file=sys.stderr)
            return EXIT_ERROR
        finally:
            configure_logging("warning", "console")  # stderr again before the file closes
    table = report.write(results, out, plot.draw(results, out))
    progress(f"report in {out / 'report.md'} and {out / 'report.json'}")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
