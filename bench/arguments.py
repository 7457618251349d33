"""Command-line argument types shared by the benchmark entry points."""

from __future__ import annotations

import argparse


def comma_separated(text: str, allowed: tuple[str, ...]) -> list[str]:
    """The names in ``text`` (comma-separated), each one of ``allowed``; at least one."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    wrong = [n for n in names if n not in allowed]
    if wrong or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}; got {text!r}")
    return names
