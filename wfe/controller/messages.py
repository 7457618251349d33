"""Text copied into WorkflowExecution status and Events from elsewhere (Tekton, the API server):
sanitised (wfe.controller.sanitize) and bounded in size, in one place (SPEC §2)."""

from __future__ import annotations

from typing import Final

from wfe.controller.sanitize import sanitize_text

# Every mirrored message is cut to this many bytes of UTF-8 (SPEC §2): a 1 MB Tekton message must
# not make the status unwritable, nor bloat the cache and the audit trail.
MIRRORED_MESSAGE_MAX_BYTES: Final = 4096
_ELLIPSIS: Final = "…"


def mirrored_message(text: object, max_bytes: int = MIRRORED_MESSAGE_MAX_BYTES) -> str:
    """``text`` sanitised (no terminal escapes, bidi or other control characters; lines and tabs
    kept), cut to ``max_bytes`` of UTF-8 (ending with "…")."""
    cleaned = sanitize_text(str(text))
    encoded = cleaned.encode("utf-8")
    if len(encoded) <= max_bytes:
        return cleaned
    room = max_bytes - len(_ELLIPSIS.encode("utf-8"))
    # cut on a character boundary: drop a partial multi-byte sequence at the end
    return encoded[:room].decode("utf-8", "ignore") + _ELLIPSIS
