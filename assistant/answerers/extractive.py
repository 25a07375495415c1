"""The local answerer: no LLM. It quotes the passage that best answers the question among the top sources, each
line cited as [n].

It never writes text of its own beyond a fixed lead-in: every content line is copied from a source. The page quoted
first is the best-ranked one that has the most of the names the question uses (`assistant.relevance.names`:
"Docker Desktop", "VPN"), so a page that only shares the generic words ("laptop", "install") does not answer for the
one that names the product. Its lines are chosen by the question's terms they share with their heading, each term
weighted by how specific it is among the sources, names twice as much. When no source has all of the question's
names ("reset my Jira API token" over pages about Okta passwords and GitHub tokens), the verdict is "not sufficient"
and the gate opens a ticket, with the quoted lines as the draft for IT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assistant.followup import local_rewrite
from assistant.model import Answer, Source, Turn
from assistant.relevance import Vocabulary, names, source_vocabulary, term_weights
from index_store.lexical import tokenize

_STEP = re.compile(r"^\s*(\d+\.|-|\[[ x]\])\s+")
_FENCE = re.compile(r"^\s*```")  # a code block's fence line says nothing on its own
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


# A line is worth its question terms' weights; the earlier question's terms (a follow-up's context) count this much.
CONTEXT_WEIGHT = 0.25
# A term the question writes as a name ("Docker", "VPN") weighs this much more when choosing its lines.
NAMED_WEIGHT = 2.0
STEP_BONUS = 0.05  # a step of a procedure scores this share of the heaviest term more, to order lines only


class ExtractiveAnswerer:
    """Quotes up to `max_lines` lines of at most `max_sources` of the first `candidates` sources, best passage first,
    keeping runs of steps together."""

    def __init__(self, *, max_lines: int = 6, max_sources: int = 2, candidates: int = 5) -> None:
        self.max_lines = max_lines
        self.max_sources = max_sources
        self.candidates = candidates

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str:
        """Without an LLM: a referential follow-up borrows the previous user question's terms."""
        return local_rewrite(question, history)

    def answer(self, question: str, sources: Sequence[Source], history: Sequence[Turn] = ()) -> Answer:
        if not sources:
            return Answer(text="", used_sources=[], sufficient=None)
        pool = list(sources[: self.candidates])
        vocabularies = [source_vocabulary(s) for s in pool]
        named = names(question)
        weights = question_weights(question, self.rewrite_query(question, history), vocabularies)
        for term in {t for name in named for t in name.terms} & weights.keys():
            weights[term] *= NAMED_WEIGHT
        # The question names something no source speaks of (all its names on one page): not this knowledge base.
        unnamed = bool(named) and not any(all(n.found_in(v) for n in named) for v in vocabularies)
        scored = [(source, _lines(source.text), _scored(source, weights)) for source in pool]
        # The answering page is the best-ranked one with the most of the question's names; retrieval's order
        # stands between pages that have as many (the generic words are spread across all of them).
        hits = [sum(1 for n in named if n.found_in(v)) for v in vocabularies]
        order = sorted(range(len(scored)), key=lambda r: (-hits[r], r))
        picked: list[tuple[int, int, str]] = []  # (source number, line index, line)
        best_first = scored[order[0]][2][0][0] if scored[order[0]][2] else 0.0
        quoted = 0
        step_bonus = STEP_BONUS * max(weights.values(), default=0.0)  # more than a step's bonus alone
        for r in order:
            source, lines, line_scores = scored[r]
            if not line_scores or quoted >= self.max_sources:
                continue
            if quoted == 0:
                budget = self.max_lines
            elif line_scores[0][0] > best_first + step_bonus:  # the first has little relevant text (an overview)
                budget = self.max_lines // 2
            elif len(picked) < self.max_lines:
                budget = 2
            else:
                break
            chosen: set[int] = set()
            for _, i in line_scores:
                if len(chosen) >= budget:
                    break
                chosen.add(i)
                if _STEP.match(lines[i]):  # keep the neighbouring steps of a procedure
                    j = i + 1
                    while j < len(lines) and _STEP.match(lines[j]) and len(chosen) < budget + 3:
                        chosen.add(j)
                        j += 1
            picked.extend((source.number, i, lines[i]) for i in sorted(chosen))
            quoted += 1
        if not picked:
            first = pool[0]
            picked = [(first.number, i, ln) for i, ln in enumerate(_lines(first.text)[:3])]
        used = list(dict.fromkeys(n for n, _, _ in picked))  # in the order quoted: the answering page first
        by_number = {s.number: s for s in pool}
        out: list[str] = []
        for n in used:
            out.append(f"From {by_number[n].title} [{n}]:")
            out.extend(_without_repeated_callouts([ln for m, _, ln in picked if m == n], n))
        return Answer(text="\n".join(out), used_sources=used, sufficient=False if unnamed else None)


def question_weights(question: str, query: str, vocabularies: Sequence[Vocabulary]) -> dict[str, float]:
    """The question's terms with their specificity among the sources; terms only the rewritten follow-up query
    has (the earlier question's) count `CONTEXT_WEIGHT` as much (pure)."""
    own = tokenize(question)
    context = [t for t in tokenize(query) if t not in set(own)]
    weights = term_weights(own, vocabularies)
    for term, w in term_weights(context, vocabularies).items():
        weights[term] = w * CONTEXT_WEIGHT
    return weights


def _scored(source: Source, weights: Mapping[str, float]) -> list[tuple[float, int]]:
    """(weight of the question terms a line shares with its heading, line index) of every line sharing one, best
    first (pure). A step of a procedure gets a small bonus."""
    lines, headings = _lines(source.text), _heading_of(source.text)
    bonus = STEP_BONUS * max(weights.values(), default=0.0)
    scored = []
    for i, ln in enumerate(lines):
        if _FENCE.match(ln):
            continue
        here = Vocabulary.of(ln, headings.get(i, ""))
        score = sum(w for t, w in weights.items() if here.has(t))
        if score > 0:
            scored.append((score + (bonus if _STEP.match(ln) else 0.0), i))
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
