"""Make text taken from articles safe to print: no control characters or escape sequences reach the terminal."""

from __future__ import annotations

import json
import re

# Whole sequences first, so that "\x1b]0;title\x07" leaves nothing behind rather than "]0;title".
_SEQUENCES = re.compile(
    r"\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC: window title, hyperlinks, clipboard writes
    r"|\x1b[P^_X][^\x1b\n]*(?:\x1b\\)?"  # DCS, PM, APC, SOS strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, screen clearing
    r"|\x1b[ -/]*[0-~]"  # the other two-character escapes
    r"|\x9d[^\x07\x9c\n]*[\x07\x9c]?"  # the 8-bit forms of OSC and CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# What is left: C0 controls but newline and tab, DEL, C1 controls, and the bidirectional overrides that can
# make a line read differently from what it contains.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """`text` without escape sequences or control characters (newlines and tabs stay)."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", "" if text is None else str(text)))


def json_line(value: object) -> str:
    """One line of JSON that keeps every character of the data but shows control characters as \\u escapes.

    json.dumps already escapes C0 controls; DEL, C1 controls and the bidirectional overrides it writes raw.
    """
    text = json.dumps(value, ensure_ascii=False)
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
