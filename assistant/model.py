"""Value types shared by retrieval, answerers, tickets and the entry points."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Role = Literal["user", "assistant"]


class Decision(StrEnum):
    """What became of a question: answered, or handed to IT as a ticket. `INVALID` is Slack's answer record for a
    question refused before answering (empty, too long); `AskResult` never carries it."""

    ANSWER = "answer"
    TICKET = "ticket"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message in a thread (follow-up context)."""

    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Source:
    """A numbered source handed to an answerer: one page, its best chunks merged in page order."""

    number: int
    page_id: str
    title: str
    url: str
    breadcrumb: tuple[str, ...]
    text: str
    score: float


@dataclass
class Answer:
    text: str
    used_sources: list[int] = field(default_factory=list)  # source numbers actually cited
    sufficient: bool | None = None  # the answerer's own verdict; None when it has none (extractive)
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class SourceRef:
    page_id: str
    title: str
    url: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"page_id": self.page_id, "title": self.title, "url": self.url, "score": round(self.score, 4)}


@dataclass
class AskResult:
    """What `helpdesk ask --json` prints and what Slack renders."""

    answer: str
    decision: Decision
    confidence: float
    sources: list[SourceRef]
    ticket_id: str | None = None
    draft_answer: str = ""
    question: str = ""
    page_ids: list[str] = field(default_factory=list)  # distinct pages retrieved, best first (for eval)
    ticket_reason: str = ""  # with a ticket decision: "low_confidence", or "error" when the model was unavailable

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "decision": self.decision,
            "confidence": self.confidence,
            "sources": [s.to_json() for s in self.sources],
            "ticket_id": self.ticket_id,
        }
