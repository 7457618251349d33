"""What ``import wfe.cmd`` must not load: libraries whose resident memory the running controller
pays for nothing (docs/performance.md, "Resident memory as deployed")."""

from __future__ import annotations

import subprocess
import sys

# package -> why it stays out of the controller's start
_NOT_AT_START = {
    "cryptography": "~9 MiB of Rust library, needed only to make a self-signed metrics certificate",
}


def test_the_entry_point_leaves_the_heavy_libraries_out() -> None:
    code = (
        "import sys, wfe.cmd; "
        f"print(sorted({{m.partition('.')[0] for m in sys.modules}} & {set(_NOT_AT_START)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", {
        name: _NOT_AT_START[name] for name in _NOT_AT_START if name in out.stdout
    }
