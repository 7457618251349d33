"""One sanitiser for text copied from Tekton (and so from workflow authors) into what people and
models read: the WorkflowExecution status, its conditions and Events, the natural-language summary.

Size bounds are wfe.controller.messages' job (it calls this). A step's error message is attacker-influenced text. Terminal escape sequences in it can rewrite what
``kubectl`` shows (hide a line, fake a prompt, set a hyperlink or the window title), and Unicode
bidirectional overrides can make text read differently from what it is ("Trojan Source"). Both are
removed; newlines and tabs are kept, and a carriage return only survives as part of CRLF (a lone
``\\r`` would overwrite the start of the line on a terminal).
"""

from __future__ import annotations

import re
from typing import Final

# ECMA-48 sequences: CSI (ESC [ or 0x9B) params intermediates final; OSC / DCS / SOS / PM / APC
# strings up to BEL or ST (or the end of the text when unterminated); other ESC sequences.
_ESCAPE_SEQUENCES: Final = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?
    | (?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|$)
    | \x1b [\x20-\x2f]* [\x30-\x7e]?
    """,
    re.VERBOSE | re.DOTALL,
)
# Bidirectional embeddings, overrides, isolates and marks (Unicode's Bidi_Control set).
_BIDI_CONTROLS: Final = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Every other C0/C1 control and DEL, except tab and newline.
_CONTROLS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + re.escape(_BIDI_CONTROLS) + "]")


def sanitize_text(text: str) -> str:
    """``text`` without terminal escape sequences, bidi controls and other control characters."""
    if not text:
        return text
    text = text.replace("\r\n", "\n")
    text = _ESCAPE_SEQUENCES.sub("", text)
    return _CONTROLS.sub("", text)
