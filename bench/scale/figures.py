"""Rows of a scale or soak report against the issue's targets, and how they read in markdown."""

from __future__ import annotations

from dataclasses import dataclass

from bench.stats import Distribution, seconds

NOT_APPLICABLE = "—"
MB_IN_MIB = 1e6 / 2**20


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str = NOT_APPLICABLE
    meets: str = NOT_APPLICABLE
    note: str = NOT_APPLICABLE

    def as_dict(self) -> dict[str, str]:
        return {
            "figure": self.figure,
            "value": self.value,
            "target": self.target,
            "meets": self.meets.replace("**", ""),
            "note": self.note,
        }


def percentiles(d: Distribution) -> str:
    return f"{seconds(d.p50)} / {seconds(d.p95)} / {seconds(d.p99)} / max {seconds(d.max)}"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def mib_of_mb(megabytes: float) -> float:
    """Decimal megabytes (as a target says "MB") in MiB."""
    return megabytes * MB_IN_MIB


def table(rows: list[Row]) -> str:
    lines = ["| figure | value | target | meets | note |", "|---|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.value} | {r.target} | {r.meets} | {r.note} |" for r in rows]
    return "\n".join(lines)
