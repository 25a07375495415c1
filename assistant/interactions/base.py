"""One interaction = one question the assistant was asked and what became of it; the `InteractionStore` protocol.

Stored as one JSON object (`Interaction.to_dict`). The question and the answer are kept with email addresses and
Slack tokens replaced by placeholders (`assistant.safety.scrub_private`), so the log never holds them. Every
interaction expires `retention_days` after it was recorded (`expires_at`, epoch seconds: the DynamoDB TTL
attribute; the SQLite store drops expired rows itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from assistant.interactions.exceptions import InteractionStoreError
from assistant.safety import scrub_private

Clock = Callable[[], datetime]  # an aware UTC datetime
VOTES = ("helpful", "not_helpful")
MAX_STORED_ANSWER = 4000


class Origin(StrEnum):
    """Where a question was asked."""

    CLI = "cli"
    DM = "dm"
    CHANNEL = "channel"
    COMMAND = "command"


def system_clock() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_vote(vote: str) -> str:
    if vote not in VOTES:
        raise InteractionStoreError(f"unknown vote {vote!r}; one of {', '.join(VOTES)}")
    return vote


@dataclass
class Interaction:
    interaction_id: str
    at: str  # ISO 8601 UTC, second precision: "2026-03-02T09:14:00Z"
    origin: str
    question: str
    decision: str  # "answer" | "ticket" | "invalid"
    confidence: float | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)  # {"page_id", "title", "url"} each
    latency_ms: float | None = None
    ticket_id: str | None = None
    answer: str = ""
    vote: str | None = None
    expires_at: int = 0  # epoch seconds

    @property
    def day(self) -> str:
        return self.at[:10]

    def to_dict(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id,
            "at": self.at,
            "origin": self.origin,
            "question": self.question,
            "decision": self.decision,
            "confidence": self.confidence,
            "sources": [dict(s) for s in self.sources],
            "latency_ms": self.latency_ms,
            "ticket_id": self.ticket_id,
            "answer": self.answer,
            "vote": self.vote,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interaction:
        """Tolerant of missing keys (they come back blank)."""

        def number(name: str) -> float | None:
            value = data.get(name)
            return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

        return cls(
            interaction_id=str(data.get("interaction_id") or ""),
            at=str(data.get("at") or ""),
            origin=str(data.get("origin") or ""),
            question=str(data.get("question") or ""),
            decision=str(data.get("decision") or ""),
            confidence=number("confidence"),
            sources=[dict(s) for s in data.get("sources") or [] if isinstance(s, Mapping)],
            latency_ms=number("latency_ms"),
            ticket_id=str(data["ticket_id"]) if data.get("ticket_id") else None,
            answer=str(data.get("answer") or ""),
            vote=str(data["vote"]) if data.get("vote") in VOTES else None,
            expires_at=int(data.get("expires_at") or 0),
        )


def new_interaction(
    *,
    origin: str,
    question: str,
    decision: str,
    now: datetime,
    retention_days: int,
    interaction_id: str = "",
    confidence: float | None = None,
    sources: Sequence[Mapping[str, Any]] = (),
    latency_ms: float | None = None,
    ticket_id: str | None = None,
    answer: str = "",
) -> Interaction:
    """An interaction ready to store (pure): question and answer scrubbed, sources reduced to id/title/url."""
    return Interaction(
        interaction_id=interaction_id or uuid.uuid4().hex,
        at=iso(now),
        origin=str(Origin(origin)),
        question=scrub_private(question.strip()),
        decision=str(decision),
        confidence=round(float(confidence), 4) if confidence is not None else None,
        sources=[
            {"page_id": str(s.get("page_id", "")), "title": str(s.get("title", "")), "url": str(s.get("url", ""))}
            for s in sources
        ],
        latency_ms=round(float(latency_ms), 1) if latency_ms is not None else None,
        ticket_id=ticket_id or None,
        answer=scrub_private(answer)[:MAX_STORED_ANSWER],
        expires_at=int((now + timedelta(days=retention_days)).timestamp()),
    )


class InteractionStore(Protocol):
    def record(self, interaction: Interaction) -> None:
        """Save the interaction; one with the same id is replaced (its vote is kept)."""
        ...

    def set_vote(self, interaction_id: str, vote: str) -> bool:
        """Put the latest vote on an interaction; False when there is no such interaction (expired or never kept)."""
        ...

    def since(self, start: datetime, *, now: datetime) -> list[Interaction]:
        """The unexpired interactions recorded at or after `start`, oldest first."""
        ...
