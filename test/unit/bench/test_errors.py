"""A benchmark told to stop unwinds like an error, so that what it started is torn down."""

from __future__ import annotations

import os
import signal

import pytest

from bench.errors import TerminatedError, unwind_on_sigterm


def test_sigterm_raises_in_the_run_so_its_teardown_runs() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    torn_down = []
    try:
        unwind_on_sigterm()
        with pytest.raises(TerminatedError):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            finally:
                torn_down.append(True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert torn_down == [True]
