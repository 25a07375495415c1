"""The local answerer: no LLM. It quotes the most relevant lines of the top sources, each cited as [n].

It never writes text of its own beyond a fixed lead-in: every content line is copied from a source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.followup import local_rewrite
from assistant.model import Answer, Source, Turn
from index_store.lexical import tokenize

_STEP = re.compile(r"^\s*(\d+\.|-|\[[ x]\])\s+")
# Lines inside a callout or expand macro carry its kind, e.g. "Expand (Title): ..." or "Warning: ...".
_CALLOUT = re.compile(r"^((?:Info|Note|Warning|Tip|Panel|Expand)(?: \([^)]*\))?): ")


def _lines(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if ln.strip() and not ln.startswith("## ")]


def _heading_of(text: str) -> dict[int, str]:
    """Line index (in `_lines` numbering) -> the heading it sits under."""
    out: dict[int, str] = {}
    heading, i = "", 0
    for ln in text.split("\n"):
        if ln.startswith("## "):
            heading = ln[3:]
        elif ln.strip():
            out[i] = heading
            i += 1
    return out


class ExtractiveAnswerer:
    """Picks up to `max_lines` lines by overlap with the question, keeping runs of steps together."""

    def __init__(self, *, max_lines: int = 6, max_sources: int = 2) -> None:
        self.max_lines = max_lines
        self.max_sources = max_sources

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str:
        """Without an LLM: a short or referential follow-up borrows the previous user question's terms."""
        return local_rewrite(question, history)

    def answer(self, question: str, sources: Sequence[Source], history: Sequence[Turn] = ()) -> Answer:
        if not sources:
            return Answer(text="", used_sources=[], sufficient=None)
        q = set(tokenize(self.rewrite_query(question, history)))
        picked: list[tuple[int, int, str]] = []  # (source number, line index, line)
        ranked = [(source, _lines(source.text), _scored(source.text, q)) for source in sources[: self.max_sources]]
        best_first = int(ranked[0][2][0][0]) if ranked[0][2] else 0  # terms shared; the step bonus only orders lines
        for source, lines, scored in ranked:
            if not scored:
                continue
            if source.number == sources[0].number:
                budget = self.max_lines - len(picked)
            elif int(scored[0][0]) > best_first:  # source 1 has little relevant text (e.g. a section overview)
                budget = self.max_lines // 2
            elif len(picked) < self.max_lines:
                budget = 2
            else:
                break
            chosen: set[int] = set()
            for _, i in scored:
                if len(chosen) >= budget:
                    break
                chosen.add(i)
                if _STEP.match(lines[i]):  # keep the neighbouring steps of a procedure
                    j = i + 1
                    while j < len(lines) and _STEP.match(lines[j]) and len(chosen) < budget + 3:
                        chosen.add(j)
                        j += 1
            picked.extend((source.number, i, lines[i]) for i in sorted(chosen))
        if not picked:
            first = sources[0]
            lines = _lines(first.text)[:3]
            picked = [(first.number, i, ln) for i, ln in enumerate(lines)]
        used = sorted({n for n, _, _ in picked})
        by_number = {s.number: s for s in sources}
        out: list[str] = []
        for n in used:
            out.append(f"From {by_number[n].title} [{n}]:")
            out.extend(_without_repeated_callouts([ln for m, _, ln in picked if m == n], n))
        return Answer(text="\n".join(out), used_sources=used, sufficient=None)


def _scored(text: str, q: set[str]) -> list[tuple[float, int]]:
    """(overlap with the question, line index) of every line that shares a term with it, best first (pure)."""
    lines, headings = _lines(text), _heading_of(text)
    scored = []
    for i, ln in enumerate(lines):
        overlap = len(q & (set(tokenize(ln)) | set(tokenize(headings.get(i, "")))))
        if overlap:
            scored.append((overlap + (0.5 if _STEP.match(ln) else 0.0), i))
    return sorted(scored, key=lambda x: (-x[0], x[1]))


def _without_repeated_callouts(lines: Sequence[str], number: int) -> list[str]:
    """Show a callout's "Kind (Title):" once, as its own line, when several of its lines are quoted in a row."""
    out: list[str] = []
    current = None
    for i, line in enumerate(lines):
        m = _CALLOUT.match(line.strip())
        prefix = m.group(1) if m else None
        nxt = _CALLOUT.match(lines[i + 1].strip()) if i + 1 < len(lines) else None
        if prefix and (prefix == current or (nxt and nxt.group(1) == prefix)):
            if prefix != current:
                out.append(f"{prefix}:")
            out.append(f"  {line.strip()[m.end() :]} [{number}]")  # type: ignore[union-attr]
        else:
            out.append(f"{line.strip()} [{number}]")
        current = prefix
    return out
