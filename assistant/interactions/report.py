"""The knowledge-loop report (pure but for the embedder): how many questions, how many answered, how many became
tickets, the votes, and the gaps: the ticketed questions grouped by meaning.

Grouping: every ticketed question is embedded with the embedder the index uses (a question is embedded like a
query), then merged agglomeratively by average cosine similarity until no two groups are closer than
`similarity`. Groups are listed largest first, each labelled with its most frequent content words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.interactions.base import Interaction
from ingest.embedders.base import Embedder, normalise

MAX_GAPS = 20
MAX_NOT_HELPFUL = 20
TOPIC_WORDS = 3
_WORD = re.compile(r"[a-z0-9][a-z0-9'+-]*")
_STOPWORDS = frozenset(
    """a about after again all am an and any are as at be been before being but by can could did do does doing
    don't for from get getting got had has have having how i i'm if in into is it it's its just keep keeps know like
    me more most my need no not now of on or our out own please should so some still than that the their them then
    there these they this to too up us use using very want was way we were what when where which who whom why will
    with would you your yours can't cannot i've im ive anyone someone there's does doesn't won't isn't
    question questions help please thanks thank hello hi hey""".split()
)


@dataclass
class Gap:
    topic: str
    count: int
    questions: list[str]
    ticket_ids: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "count": self.count, "questions": self.questions, "ticket_ids": self.ticket_ids}


@dataclass
class Report:
    period_days: int
    questions: int
    answered: int
    tickets: int
    helpful: int
    not_helpful: int
    gaps: list[Gap] = field(default_factory=list)
    not_helpful_answers: list[dict[str, Any]] = field(default_factory=list)
    top_pages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deflection_rate(self) -> float:
        """The share of questions answered without a ticket (0 when there were none)."""
        return round(self.answered / self.questions, 4) if self.questions else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "period_days": self.period_days,
            "questions": self.questions,
            "answered": self.answered,
            "tickets": self.tickets,
            "deflection_rate": self.deflection_rate,
            "helpful": self.helpful,
            "not_helpful": self.not_helpful,
            "gaps": [g.to_json() for g in self.gaps],
            "not_helpful_answers": self.not_helpful_answers,
            "top_pages": self.top_pages,
        }


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2 and not w.isdigit()]


def topic_label(questions: Sequence[str], words: int = TOPIC_WORDS) -> str:
    """The most frequent content words of the questions, most frequent first (ties: first seen first)."""
    counts: Counter[str] = Counter()
    for question in questions:
        counts.update(dict.fromkeys(content_words(question), 1))  # a word counts once per question
    return " ".join(word for word, _ in counts.most_common(words)) or "(no words)"


def cluster(vectors: np.ndarray, similarity: float) -> list[list[int]]:
    """Average-linkage agglomerative clustering on cosine similarity (rows are unit vectors): merge the two closest
    groups while their average similarity is at least `similarity`. Largest group first, then by first member.

    Keeps each group's best partner, so a merge updates one row and the rows that pointed at the merged groups
    (about O(n^2) over the whole run instead of a full rescan per merge)."""
    n = len(vectors)
    if n == 0:
        return []
    sums = np.asarray(vectors @ vectors.T, dtype=np.float64)  # sums[a, b]: total similarity between groups a, b
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    average = sums.copy()
    np.fill_diagonal(average, -np.inf)
    best, partner = average.max(axis=1), average.argmax(axis=1)
    members: list[list[int]] = [[i] for i in range(n)]
    while alive.sum() > 1:
        a = int(np.argmax(np.where(alive, best, -np.inf)))
        if best[a] < similarity:
            break
        b = int(partner[a])
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
        members[a] = sorted(members[a] + members[b])
        average[b, :] = average[:, b] = -np.inf
        best[b] = -np.inf
        row = np.where(alive, sums[a, :] / (sizes[a] * sizes), -np.inf)
        row[a] = -np.inf
        average[a, :] = average[:, a] = row
        best[a], partner[a] = row.max(), row.argmax()
        stale = alive & ((partner == a) | (partner == b))
        stale[a] = False
        for i in np.flatnonzero(stale):
            best[i], partner[i] = average[i].max(), average[i].argmax()
        better = alive & ~stale & (row > best)
        better[a] = False
        best[better], partner[better] = row[better], a
    groups = [members[i] for i in range(n) if alive[i]]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def find_gaps(tickets: Sequence[Interaction], embedder: Embedder, similarity: float) -> list[Gap]:
    """The ticketed questions grouped by meaning, largest group first."""
    if not tickets:
        return []
    vectors = normalise(np.vstack([np.asarray(embedder.embed_query(t.question)) for t in tickets]))
    gaps = []
    for members in cluster(vectors, similarity)[:MAX_GAPS]:
        questions = [tickets[i].question for i in members]
        ticket_ids = [tickets[i].ticket_id for i in members if tickets[i].ticket_id]
        gaps.append(Gap(topic_label(questions), len(members), questions, [str(t) for t in ticket_ids]))
    return gaps


def top_pages(interactions: Sequence[Interaction], limit: int = 10) -> list[dict[str, Any]]:
    """The pages most often cited in answers: {"page_id", "title", "url", "count"}, most cited first."""
    counts: Counter[str] = Counter()
    seen: dict[str, dict[str, Any]] = {}
    for interaction in interactions:
        if interaction.decision != "answer":
            continue
        for source in {s.get("page_id", ""): s for s in interaction.sources}.values():
            page_id = str(source.get("page_id", ""))
            counts[page_id] += 1
            seen.setdefault(page_id, source)
    return [
        {"page_id": p, "title": seen[p].get("title", ""), "url": seen[p].get("url", ""), "count": n}
        for p, n in counts.most_common(limit)
    ]


def build_report(
    interactions: Sequence[Interaction], embedder: Embedder, *, period_days: int, similarity: float
) -> Report:
    answered = [i for i in interactions if i.decision == "answer"]
    tickets = [i for i in interactions if i.decision == "ticket"]
    not_helpful = [i for i in interactions if i.vote == "not_helpful"]
    return Report(
        period_days=period_days,
        questions=len(interactions),
        answered=len(answered),
        tickets=len(tickets),
        helpful=sum(i.vote == "helpful" for i in interactions),
        not_helpful=len(not_helpful),
        gaps=find_gaps(tickets, embedder, similarity),
        not_helpful_answers=[
            {"at": i.at, "question": i.question, "answer": i.answer, "sources": i.sources}
            for i in not_helpful[-MAX_NOT_HELPFUL:]
        ],
        top_pages=top_pages(interactions),
    )
