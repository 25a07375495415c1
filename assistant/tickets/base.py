"""The `Ticket` record and the `TicketStore` protocol."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

STATUSES = ("open", "in_progress", "resolved", "closed")
REASONS = ("low_confidence", "user_requested", "not_helpful", "error")
# Crockford base32 without I, L, O, U: unambiguous when read aloud or retyped.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ticket_id(nbytes: int = 6) -> str:
    """`IT-` + 8 random Crockford base32 characters (40 bits); stores refuse duplicates and retry."""
    value = int.from_bytes(secrets.token_bytes(nbytes), "big")
    chars = []
    for _ in range(8):
        value, r = divmod(value, 32)
        chars.append(_ALPHABET[r])
    return "IT-" + "".join(chars)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Ticket:
    ticket_id: str
    question: str
    status: str = "open"
    requester_id: str = ""
    requester_name: str = ""
    requester_email: str = ""
    channel: str = ""
    thread_ts: str = ""
    permalink: str = ""
    draft_answer: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)  # {"page_id", "title", "url", "score"}
    confidence: float | None = None
    reason: str = "low_confidence"
    created_at: str = ""
    updated_at: str = ""
    idempotency_key: str = ""
    email_status: str = "pending"  # pending | sent | failed: <reason> | skipped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ticket:
        """Tolerant: unknown keys are ignored and missing ones take blanks (older items still load)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names and v is not None}
        values.setdefault("question", "")
        values["ticket_id"] = str(data.get("ticket_id", ""))
        if "sources" in values and not isinstance(values["sources"], list):
            values["sources"] = []
        if values.get("confidence") is not None:
            try:
                values["confidence"] = float(values["confidence"])
            except (TypeError, ValueError):
                values["confidence"] = None
        return cls(**values)


class TicketStore(Protocol):
    """Creates are idempotent on `idempotency_key`: a repeat returns the ticket the first call made."""

    def create(self, ticket: Ticket) -> Ticket: ...

    def get(self, ticket_id: str) -> Ticket: ...

    def list(
        self, *, status: str | None = None, requester: str | None = None, limit: int = 100
    ) -> Sequence[Ticket]: ...

    def update(self, ticket_id: str, **changes: Any) -> Ticket: ...
