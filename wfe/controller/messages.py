"""Text copied into WorkflowExecution status and Events from elsewhere (Tekton, the API server):
bounded in size and stripped of control characters, in one place (SPEC §2)."""

from __future__ import annotations

import re
from typing import Final

# Every mirrored message is cut to this many bytes of UTF-8 (SPEC §2): a 1 MB Tekton message must
# not make the status unwritable, nor bloat the cache and the audit trail.
MIRRORED_MESSAGE_MAX_BYTES: Final = 4096
_ELLIPSIS: Final = "…"
# Unicode's control characters (category Cc) except newline and tab: line structure is kept
# (multi-line Tekton errors stay readable), ESC of terminal escapes, CR, NUL, DEL and C1 go.
_CONTROL_CHARACTERS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def mirrored_message(text: object, max_bytes: int = MIRRORED_MESSAGE_MAX_BYTES) -> str:
    """``text`` without control characters, cut to ``max_bytes`` of UTF-8 (ending with "…")."""
    cleaned = _CONTROL_CHARACTERS.sub("", str(text))
    encoded = cleaned.encode("utf-8")
    if len(encoded) <= max_bytes:
        return cleaned
    room = max_bytes - len(_ELLIPSIS.encode("utf-8"))
    # cut on a character boundary: drop a partial multi-byte sequence at the end
    return encoded[:room].decode("utf-8", "ignore") + _ELLIPSIS
