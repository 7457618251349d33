"""kubectl's output conventions: borderless tables (tabwriter: min width 6, padding 3), human ages
(``HumanDuration``), ``-o json|yaml``, and colour only when writing to a terminal."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml

_MIN_WIDTH = 6
_PADDING = 3

RESET = "\033[0m"
GREEN, RED, YELLOW, CYAN = "\033[32m", "\033[31m", "\033[33m", "\033[36m"
BOLD = "\033[1m"

PHASE_COLOURS = {"Completed": GREEN, "Failed": RED, "Running": CYAN, "Skipped": YELLOW}


def wants_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, colour: str | None, enabled: bool) -> str:
    return f"{colour}{text}{RESET}" if enabled and colour and text else text


Styler = Callable[[str], str | None]


@dataclass
class Table:
    """Rows of plain strings; a column may have a styler giving the colour of a cell's value."""

    headers: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    stylers: dict[int, Styler] = field(default_factory=dict)

    def render(self, colour: bool) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        last = len(self.headers) - 1
        lines = []
        for index, row in enumerate([self.headers, *self.rows]):
            cells = []
            for column, cell in enumerate(row):
                padded = (
                    cell
                    if column == last
                    else cell.ljust(max(widths[column] + _PADDING, _MIN_WIDTH))
                )
                styler = self.stylers.get(column)
                if index > 0 and styler is not None:
                    padded = padded.replace(cell, paint(cell, styler(cell), colour), 1)
                cells.append(padded)
            lines.append("".join(cells).rstrip())
        return "\n".join(lines) + "\n"


def dump(data: Any, output: str) -> str:
    """``-o json`` (4-space indent, like kubectl) or ``-o yaml``."""
    if output == "json":
        return json.dumps(data, indent=4, sort_keys=True, default=str) + "\n"
    return str(yaml.safe_dump(data, default_flow_style=False, sort_keys=True, allow_unicode=True))


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration``: ``45s``, ``3m20s``, ``47m``, ``5h3m``, ``3d4h``."""
    total = int(seconds)
    if total < -1:
        return "<invalid>"
    if total < 0:
        return "0s"
    if total < 120:
        return f"{total}s"
    minutes = total // 60
    if minutes < 10:
        rest = total % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = total // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"
