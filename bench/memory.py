"""Resident memory of this process (controller, observer and harness together): now and peak."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

_STATUS = Path("/proc/self/status")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class MemorySample:
    rss_mib: float  # VmRSS: resident now
    peak_mib: float  # VmHWM: the high-water mark since the process started


def sample() -> MemorySample:
    fields = _proc_status_kib() if _STATUS.exists() else {}
    # ru_maxrss is KiB on Linux; the fallback for systems without /proc
    peak_kib = fields.get("VmHWM", float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    rss_kib = fields.get("VmRSS", peak_kib)
    return MemorySample(rss_mib=rss_kib * 1024 / _MIB, peak_mib=peak_kib * 1024 / _MIB)


def _proc_status_kib() -> dict[str, float]:
    fields: dict[str, float] = {}
    for line in _STATUS.read_text().splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[key] = float(parts[0])
    return fields
