"""How well a source covers a question, from the words they share (pure, no index needed).

A question term is weighted by how specific it is among the sources retrieved for it: a term found in one source
("docker") outweighs one found in all of them ("laptop"), and a term no source has weighs most. A source's
coverage is the weighted share of the question's terms it contains. Terms are the index's own (`tokenize`), and a
term matches a source word spelled with or without hyphens ("wifi", "wi-fi") or one it starts ("mac", "macos").

Named terms are the words of three letters or more that a question writes as names: capitalised inside a sentence
("Docker Desktop", "Jira"), all capitals ("API", "VPN") or letters and digits in one word ("SC542"). A page that has
none of them is about something else, however many generic words it shares with the question.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from assistant.model import Source
from index_store.lexical import tokenize

# "Pages that might help" (with a ticket) lists only sources covering at least this weighted share of the
# question's terms. Measured by `python -m bench.might_help` (sample / transfer set): at 0.10 the expected page is
# kept for 0.82 / 0.86 of the covered questions that became tickets (0.95 / 0.97 of all covered ones), and an
# uncovered question lists 2.3 / 3.8 pages instead of 5 (none for 0.18 / 0.02); at 0.20 the list halves again but
# the expected page goes for 41 % / 57 % of those tickets. A page that shares no term with the question never shows.
MIGHT_HELP_FLOOR = 0.10
MIN_PREFIX = 4  # a term matches a longer source word it starts only from this many letters ("mac" does not)

_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.?!:;]$")
_PRONOUN = re.compile(r"I['’]")  # "I'm", "I've": capitalised, but no name
_CODE = re.compile(r"[A-Za-z]+[0-9][A-Za-z0-9]*|[0-9]+[A-Za-z][A-Za-z0-9]*")  # "SC542", "M365", "2FA"


def _squash(term: str) -> str:
    return term.replace("-", "")


@dataclass(frozen=True)
class Vocabulary:
    """The terms of one text, for matching question terms against it."""

    terms: frozenset[str]
    squashed: tuple[str, ...]  # the terms without hyphens, sorted (a prefix is found by bisection)

    @classmethod
    def of(cls, *texts: str) -> Vocabulary:
        if len(texts) == 1:
            return _vocabulary(texts[0])
        return _vocabulary_of(frozenset().union(*(_vocabulary(text).terms for text in texts)))

    def has(self, term: str) -> bool:
        if term in self.terms:
            return True
        sq = _squash(term)
        i = bisect.bisect_left(self.squashed, sq)
        if i == len(self.squashed):
            return False
        return self.squashed[i] == sq or (len(sq) >= MIN_PREFIX and self.squashed[i].startswith(sq))


def _vocabulary_of(terms: frozenset[str]) -> Vocabulary:
    return Vocabulary(terms, tuple(sorted({_squash(t) for t in terms})))


@functools.lru_cache(maxsize=8192)  # the same lines and pages come back question after question
def _vocabulary(text: str) -> Vocabulary:
    return _vocabulary_of(frozenset(tokenize(text)))


def source_vocabulary(source: Source) -> Vocabulary:
    return Vocabulary.of(source.title, " ".join(source.breadcrumb), source.text)


@dataclass(frozen=True)
class Name:
    """One word a question writes as a name: its terms, and the word run together ("DNS_PROBE" -> "dnsprobe")."""

    terms: tuple[str, ...]
    joined: str

    def found_in(self, vocabulary: Vocabulary) -> bool:
        return all(vocabulary.has(t) for t in self.terms) or vocabulary.has(self.joined)


def names(question: str) -> list[Name]:
    """The words `question` writes as names (see the module docstring), in order (pure)."""
    out: list[Name] = []
    sentence_start = True
    for word in _WORD.findall(question):
        core = word.strip("\"'()[]{}<>,.?!:;")
        named = (
            len(core) >= 3
            and not _PRONOUN.match(core)
            and (
                (core[0].isupper() and not sentence_start)
                or core.isupper()
                or any(ch.isupper() for ch in core[1:])
                or bool(_CODE.fullmatch(core))
            )
        )
        terms = tuple(tokenize(core)) if named else ()
        if terms:
            out.append(Name(terms, "".join(ch for ch in core.lower() if ch.isalnum())))
        sentence_start = bool(_SENTENCE_END.search(word))
    return out


def named_terms(question: str) -> set[str]:
    """The terms of the question's names."""
    return {t for name in names(question) for t in name.terms}


def term_weights(terms: Iterable[str], vocabularies: Sequence[Vocabulary]) -> dict[str, float]:
    """Each distinct term's specificity among the sources: BM25's idf over them (pure)."""
    n = len(vocabularies)
    out: dict[str, float] = {}
    for term in dict.fromkeys(terms):
        df = sum(1 for v in vocabularies if v.has(term))
        out[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
    return out


def coverage(weights: Mapping[str, float], vocabulary: Vocabulary) -> float:
    """The weighted share (0..1) of the question's terms found in `vocabulary`."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if vocabulary.has(t)) / total


def source_coverage(question: str, sources: Sequence[Source]) -> list[float]:
    """Each source's coverage of the question, weighted among these sources (pure)."""
    vocabularies = [source_vocabulary(s) for s in sources]
    weights = term_weights(tokenize(question), vocabularies)
    return [coverage(weights, v) for v in vocabularies]


def pages_that_might_help(question: str, sources: Sequence[Source], floor: float = MIGHT_HELP_FLOOR) -> list[Source]:
    """The sources worth showing with a ticket: those whose coverage of the question reaches `floor`."""
    return [s for s, c in zip(sources, source_coverage(question, sources), strict=True) if c >= floor]
