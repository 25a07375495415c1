"""Citation markers in answer text: ``[1]``, ``[2, 3]``. One pattern; every reader and rewriter of markers uses it.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

# The blanks before a marker (group 1) and its numbers (group 2).
MARKER = re.compile(r"([ \t]*)\[(\d+(?:\s*,\s*\d+)*)\]")
_COMMA = re.compile(r"\s*,\s*")


def _numbers(match: re.Match[str]) -> list[int]:
    return [int(n) for n in _COMMA.split(match.group(2))]


def _rewrite(text: str, numbers: Callable[[list[int]], list[int]]) -> str:
    """Each marker's numbers replaced by `numbers(old)`; a marker left empty goes, with the blanks before it."""

    def repl(m: re.Match[str]) -> str:
        kept = numbers(_numbers(m))
        return f"{m.group(1)}[{', '.join(map(str, kept))}]" if kept else ""

    return MARKER.sub(repl, text)


def cited_numbers(text: str) -> list[int]:
    """The distinct source numbers cited in `text`, ascending."""
    return sorted({n for m in MARKER.finditer(text) for n in _numbers(m)})


def drop_unknown_citations(text: str, valid: Collection[int]) -> str:
    """Remove citation numbers that name no source (and a marker left empty, with the blanks before it)."""
    return _rewrite(text, lambda ns: [n for n in ns if n in valid])


def renumber_citations(text: str, mapping: Mapping[int, int]) -> str:
    """Rewrite markers to the numbers of the sources as listed to the user; unknown numbers are kept."""
    return _rewrite(text, lambda ns: [mapping.get(n, n) for n in ns])


def strip_citations(text: str) -> str:
    """`text` without any marker (and the blanks before each)."""
    return _rewrite(text, lambda _ns: [])
