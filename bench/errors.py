"""Errors that end a benchmark run with a non-zero exit: the controller misbehaved or broke, or the
run was told to stop."""

import signal
from types import FrameType


class BenchError(Exception):
    """The run cannot produce meaningful figures; the message says what went wrong."""


class ProgressTimeoutError(BenchError):
    """A wait bounded far beyond the SPEC floors ran out: the controller stopped making progress."""


class TerminatedError(Exception):
    """SIGTERM arrived; not a BenchError, so no reference step takes it for its own failure."""


def _terminated(signum: int, _frame: FrameType | None) -> None:
    raise TerminatedError(f"terminated by signal {signum}")


def unwind_on_sigterm() -> None:
    """SIGTERM (``timeout``, a CI cancel) unwinds the run like an error: the control plane and every
    controller it started (each in a session of its own, so no signal reaches it) are torn down
    instead of being left behind."""
    signal.signal(signal.SIGTERM, _terminated)
