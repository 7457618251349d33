"""What every ``python -m bench.<scenario>`` does around its run: unwind on SIGTERM, exit 1 on a
real error once everything started is torn down, else write the report and print its main table.
A missed target is never an error."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.errors import unwind_on_sigterm

EXIT_ERROR = 1
T = TypeVar("T")


def run_and_report(
    prog: str,
    run: Callable[[], T],
    write: Callable[[T], str],
    reports: tuple[Path, ...],
    progress: Callable[[str], None],
) -> int:
    """Runs ``run``; ``write`` turns its results into the report files ``reports`` and returns the
    main table, printed on stdout."""
    unwind_on_sigterm()
    try:
        results = run()
    except Exception:
        traceback.print_exc()
        print(f"{prog}: failed (everything started was torn down)", file=sys.stderr)
        return EXIT_ERROR
    main_table = write(results)
    progress(f"report in {' and '.join(str(path) for path in reports)}")
    print(main_table)
    return 0
