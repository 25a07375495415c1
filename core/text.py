"""Plain text for people and terminals (pure): what cannot be encoded or steers the display goes."""

from __future__ import annotations

import re

# ANSI/VT escape sequences: CSI (ESC [ ... final byte, or the 8-bit CSI), OSC (ESC ] ... BEL or ST), two-byte ESC x.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")
# C0 and C1 controls but tab and newline; bidi embeddings, overrides and isolates; line and paragraph separators.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]))
_CONTROL = re.compile("[" + re.escape(CONTROLS + BIDI_CONTROLS) + "\r\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` safe to store, encode as UTF-8 and print: lone surrogates become U+FFFD, carriage returns newlines;
    ANSI escapes, other control characters (but tab and newline) and bidi controls are removed."""
    text = _SURROGATE.sub("\ufffd", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _ANSI.sub("", text))
