"""A live table of WorkflowExecutions for the ``make run`` demo: redrawn in place on a terminal,
printed again only when something changed elsewhere (a log file, a CI run)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from wfe.controller.resources import WORKFLOW_EXECUTIONS
from wfe.controller.timestamps import parse_time
from wfe.runtime.client import Client

COLUMNS = ("NAMESPACE", "NAME", "PHASE", "PIPELINERUN", "REASON", "AGE")
_CLEAR = "\x1b[H\x1b[2J"


def rows(items: list[dict[str, Any]], now: datetime) -> list[tuple[str, ...]]:
    """One row per WFE, oldest first, with the columns above."""
    out = []
    for wfe in sorted(
        items, key=lambda w: (w["metadata"]["creationTimestamp"], w["metadata"]["name"])
    ):
        meta, status = wfe["metadata"], wfe.get("status") or {}
        reason = (status.get("failureDetails") or {}).get("reason") or (
            status.get("skipDetails") or {}
        ).get("reason")
        created = parse_time(meta.get("creationTimestamp"))
        out.append(
            (
                meta["namespace"],
                meta["name"],
                status.get("phase") or "Pending",
                (status.get("pipelineRunRef") or {}).get("name") or "-",
                reason or "-",
                _age(now - created) if created else "-",
            )
        )
    return out


def render(table: list[tuple[str, ...]]) -> str:
    """kubectl's style: no borders, columns three spaces apart."""
    lines = [COLUMNS, *table]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join(
        "   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _age(delta: Any) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


class LiveTable:
    def __init__(self, client: Client, header: list[str], out: TextIO = sys.stdout):
        self._client = client
        self._header = header
        self._out = out
        self._tty = out.isatty()
        self._last: list[tuple[str, ...]] | None = None

    def refresh(self) -> None:
        items = self._client.list(WORKFLOW_EXECUTIONS)["items"]
        table = rows(items, datetime.now(UTC))
        if self._tty:
            self._out.write(_CLEAR + "\n".join(self._header) + "\n\n" + render(table) + "\n")
        else:
            unchanged = [row[:-1] for row in table] == [row[:-1] for row in self._last or []]
            if self._last is not None and unchanged:
                return
            self._out.write(render(table) + "\n\n")
        self._out.flush()
        self._last = table
