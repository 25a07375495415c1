"""Settings of the interaction log, the report and the digest."""

from __future__ import annotations

from dataclasses import dataclass

from core import env as e

DEFAULT_RETENTION_DAYS = 90
DEFAULT_GAP_SIMILARITY = 0.6


@dataclass(frozen=True)
class InteractionsConfig:
    table: str = ""  # set: interactions in DynamoDB (TTL attribute `expires_at`); empty: local SQLite
    retention_days: int = DEFAULT_RETENTION_DAYS
    gap_similarity: float = DEFAULT_GAP_SIMILARITY  # cosine similarity at which two ticketed questions are one gap
    digest_channel: str = ""  # Slack channel the weekly digest is also posted to; empty: email only

    @classmethod
    def from_env(cls, env: e.Env) -> InteractionsConfig:
        return cls(
            table=e.text(env, "INTERACTIONS_TABLE"),
            retention_days=e.whole(env, "HELPDESK_INTERACTION_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, 1, 3650),
            gap_similarity=e.number(env, "HELPDESK_GAP_SIMILARITY", DEFAULT_GAP_SIMILARITY, 0.0, 1.0),
            digest_channel=e.text(env, "HELPDESK_DIGEST_CHANNEL"),
        )
