"""`InteractionLog`: records each question (and later its vote) and emits the per-answer EMF metrics.

Recording never costs the user the answer: a store failure is logged as a warning and the answer goes out.

Metrics (namespace ITHelpdesk, dimension service=it-helpdesk, only inside Lambda): `Questions`, `Answered`,
`Tickets` (1 per question, by decision), `AnswerLatency` (ms), `Helpful` and `NotHelpful` (1 per vote).
`BedrockInputTokens` is emitted by the Bedrock answerer where it reads the Converse usage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.interactions.base import (
    Clock,
    Interaction,
    InteractionStore,
    check_vote,
    new_interaction,
    system_clock,
)
from assistant.interactions.config import DEFAULT_RETENTION_DAYS
from core import metrics

log = logging.getLogger(__name__)

QUESTIONS, ANSWERED, TICKETS = "Questions", "Answered", "Tickets"
HELPFUL, NOT_HELPFUL, ANSWER_LATENCY = "Helpful", "NotHelpful", "AnswerLatency"
VOTE_METRICS = {"helpful": HELPFUL, "not_helpful": NOT_HELPFUL}


@dataclass(eq=False)
class InteractionLog:
    store: InteractionStore
    retention_days: int = DEFAULT_RETENTION_DAYS
    clock: Clock = system_clock

    def record(
        self,
        *,
        origin: str,
        question: str,
        decision: str,
        interaction_id: str = "",
        confidence: float | None = None,
        sources: Sequence[Mapping[str, Any]] = (),
        latency_ms: float | None = None,
        ticket_id: str | None = None,
        answer: str = "",
    ) -> Interaction | None:
        """Record one question; None when the store failed (logged, never raised)."""
        interaction = new_interaction(
            origin=origin,
            question=question,
            decision=decision,
            now=self.clock(),
            retention_days=self.retention_days,
            interaction_id=interaction_id,
            confidence=confidence,
            sources=sources,
            latency_ms=latency_ms,
            ticket_id=ticket_id,
            answer=answer,
        )
        _emit_answer_metrics(interaction)
        try:
            self.store.record(interaction)
        except Exception as exc:  # the answer is worth more than its log line
            log.warning("recording the interaction failed", extra={"error": f"{exc.__class__.__name__}: {exc}"})
            return None
        return interaction

    def vote(self, interaction_id: str, vote: str) -> bool:
        """Put the vote on its interaction; False when there is none (or the store failed, logged)."""
        metrics.count(VOTE_METRICS[check_vote(vote)])
        try:
            return self.store.set_vote(interaction_id, vote)
        except Exception as exc:
            log.warning("recording the vote failed", extra={"error": f"{exc.__class__.__name__}: {exc}"})
            return False


def _emit_answer_metrics(interaction: Interaction) -> None:
    metrics.count(QUESTIONS)
    if interaction.decision == "answer":
        metrics.count(ANSWERED)
    elif interaction.decision == "ticket":
        metrics.count(TICKETS)
    if interaction.latency_ms is not None:
        metrics.milliseconds(ANSWER_LATENCY, interaction.latency_ms)
