"""Heading-aware chunking of a parsed page.

One chunk per heading section. A section over ``max_words`` is split at line boundaries; a single huge line
(long paragraph, long code block) is split at sentence / line / whitespace boundaries, keeping its callout
prefix ("Warning: ") and code fence on every piece. Consecutive small sections (< ``min_words``) are merged
into one chunk while the merged body stays within ``max_words``. Pure and deterministic: the same input always
gives the same chunks, ids and hashes, and editing one section only changes that section's chunk(s).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from core.text import clean_text
from index_store.format import Chunk
from ingest.parse import ParsedPage

__all__ = ["Chunk", "chunk_page"]

# Callout prefixes written by ingest.parse ("Warning: ", "Panel (Title): ", nested "Expand (T): Info: ").
_PREFIX_RE = re.compile(r"(?:(?:Info|Note|Warning|Tip|Panel|Expand)(?: \([^)\n]*\))?: )+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_TOKEN = re.compile(r"\S+")


def _words(text: str) -> int:
    return len(text.split())


def _split_words(text: str, limit: int) -> list[str]:
    """Cut ``text`` into runs of at most ``limit`` whitespace-separated tokens, keeping inner spacing."""
    spans = [m.span() for m in _TOKEN.finditer(text)]
    return [text[spans[i][0] : spans[min(i + limit, len(spans)) - 1][1]] for i in range(0, len(spans), limit)]


def _pack(units: list[str], limit: int) -> list[list[str]]:
    """Greedily group units (each <= limit words) into runs of at most ``limit`` words, of balanced size."""
    total = sum(_words(u) for u in units)
    target = math.ceil(total / max(1, math.ceil(total / limit)))
    groups: list[list[str]] = []
    cur: list[str] = []
    count = 0
    for unit in units:
        n = _words(unit)
        if cur and (count + n > limit or count >= target):
            groups.append(cur)
            cur, count = [], 0
        cur.append(unit)
        count += n
    return [*groups, cur] if cur else groups


def _split_line(line: str, max_words: int) -> list[str]:
    """Split one over-long line; every piece keeps the callout prefix and, for code, the fence."""
    m = _PREFIX_RE.match(line)
    prefix = m.group(0) if m else ""
    rest = line[len(prefix) :]
    fence = ""
    if rest.startswith("```") and "\n" in rest and rest.rstrip().endswith("```"):
        fence, _, inner = rest.rstrip()[:-3].partition("\n")
        rest = inner.rstrip("\n")
    budget = max(1, max_words - _words(prefix) - (2 if fence else 0))
    joiner = "\n" if "\n" in rest else " "
    units = rest.split("\n") if joiner == "\n" else _SENTENCE_END.split(rest)
    units = [part for u in units for part in (_split_words(u, budget) if _words(u) > budget else [u])]
    pieces = [p for p in (joiner.join(g) for g in _pack(units, budget)) if p.strip()]
    return [prefix + (f"{fence}\n{p}\n```" if fence else p) for p in pieces]


def _split_section(lines: list[str], max_words: int) -> list[list[str]]:
    """Pieces of at most ``max_words`` words, cut at line boundaries; over-long lines are split themselves."""
    flat: list[str] = []
    for line in lines:
        flat.extend(_split_line(line, max_words) if _words(line) > max_words else [line])
    return _pack(flat, max_words)


def chunk_page(
    page_id: str,
    title: str,
    breadcrumb: Sequence[str],
    parsed: ParsedPage,
    *,
    max_words: int = 180,
    min_words: int = 40,
    url: str = "",
) -> list[Chunk]:
    """Chunk one parsed page (see the module docstring for the rules). A page without text gives []."""
    title, breadcrumb = clean_text(title), [clean_text(name) for name in breadcrumb]
    url = "".join(clean_text(url).split())
    if max_words < 1:
        raise ValueError("max_words must be >= 1")
    crumbs = tuple(breadcrumb)
    # 1. heading path of every section with text
    sections: list[tuple[str, str, list[str]]] = []  # (heading path, own heading, lines)
    stack: list[tuple[int, str]] = []
    for s in parsed.sections:
        if s.level > 0 and s.heading:
            while stack and stack[-1][0] >= s.level:
                stack.pop()
            stack.append((s.level, s.heading))
        path = " > ".join(h for _, h in stack) if s.level > 0 and s.heading else ""
        lines = [x for x in s.lines if x.strip()]
        if lines:
            sections.append((path, s.heading, lines))

    # 2. split big sections, merge runs of small ones
    groups: list[tuple[str, list[str]]] = []  # (heading, lines)
    run: list[tuple[str, str, list[str]]] = []
    run_words = 0

    def flush() -> None:
        nonlocal run_words
        if len(run) == 1:
            groups.append((run[0][0], run[0][2]))
        elif run:  # merged: heading paths joined with " / "; each part keeps its own heading as a marker line
            heading = " / ".join(dict.fromkeys(path for path, _, _ in run if path))
            body = [x for _, own, lines in run for x in ([f"## {own}"] if own else []) + lines]
            groups.append((heading, body))
        run.clear()
        run_words = 0

    for path, own, lines in sections:
        words = sum(_words(x) for x in lines)
        if words >= min_words:
            flush()
            groups.extend((path, piece) for piece in _split_section(lines, max_words))
            continue
        cost = words + (_words(own) + 1 if own else 0)
        if run and run_words + cost > max_words:
            flush()
        run.append((path, own, lines))
        run_words += cost
    flush()
    return [
        Chunk.of(page_id, i, title, crumbs, heading, "\n".join(lines), url=url)
        for i, (heading, lines) in enumerate(groups)
    ]
