"""Errors that end a benchmark run with a non-zero exit: the controller misbehaved or broke."""


class BenchError(Exception):
    """The run cannot produce meaningful figures; the message says what went wrong."""


class ProgressTimeoutError(BenchError):
    """A wait bounded far beyond the SPEC floors ran out: the controller stopped making progress."""
