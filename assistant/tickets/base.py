"""The `Ticket` record, its statuses, its id scheme, and the `TicketStore` / `TicketOutbox` protocols."""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from assistant.exceptions import TicketError


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class EmailStatus(StrEnum):
    """The outbox state of a ticket's emails (see assistant/tickets/delivery.py). The two `FAILED` values are
    prefixes: the stored status is the prefix followed by the reason."""

    PENDING = "pending"  # nothing sent yet
    SENDING = "sending"  # claimed by one sender, which is emailing IT now
    SENDING_REQUESTER = "sending: requester"  # claimed; IT has it, the requester confirmation is going out
    SENT = "sent"  # IT emailed (and the requester, when known and enabled)
    FAILED = "failed: "  # + reason: the IT email is still owed
    FAILED_REQUESTER = "failed (requester): "  # + reason: IT has it; only the confirmation is owed


# Plain strings (not enum members): argparse shows choices with repr().
STATUSES: tuple[str, ...] = tuple(s.value for s in TicketStatus)
_STATUS_WORDS = re.compile(r"[\s_-]+")
OPEN_STATUSES: tuple[str, ...] = (TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value)
REASONS = ("low_confidence", "user_requested", "not_helpful", "error")
# Crockford base32 without I, L, O, U: unambiguous when read aloud or retyped.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_CHARS = 8  # 8 x 5 bits = 40 bits

Clock = Callable[[], datetime]


def _encode(value: int) -> str:
    chars = []
    for _ in range(ID_CHARS):
        value, r = divmod(value, 32)
        chars.append(_ALPHABET[r])
    return "IT-" + "".join(chars)


def new_ticket_id(nbytes: int = 6) -> str:
    """`IT-` + 8 random Crockford base32 characters (40 bits); stores refuse duplicates and retry."""
    return _encode(int.from_bytes(secrets.token_bytes(nbytes), "big"))


def derived_ticket_id(idempotency_key: str, attempt: int = 0) -> str:
    """The id a ticket with this idempotency key gets on its `attempt`-th try: `IT-` + 40 bits of SHA-256.

    Every creator of the same key walks the same sequence, so concurrent duplicates race for the same item and
    the store's conditional put lets exactly one of them write it (see docs/decisions/0009).
    """
    digest = hashlib.sha256(f"helpdesk-ticket/v1\0{idempotency_key}\0{attempt}".encode()).digest()
    return _encode(int.from_bytes(digest[:5], "big"))


def format_ts(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, to the second: sorts as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def system_clock() -> datetime:
    return datetime.now(UTC)


def utc_now(clock: Clock | None = None) -> str:
    return format_ts((clock or system_clock)())


def ts_minus(clock: Clock, delta: timedelta) -> str:
    return format_ts(clock() - delta)


def _text(value: Any) -> str:
    """Any stored value as display text (older items may hold numbers, sets or bytes where we expect text)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def normalise_status(value: Any) -> str:
    """A stored status in our vocabulary (pure): older items wrote "OPEN", "In Progress", "in-progress"; those
    read as "open", "in_progress". Anything else (a number, "done", a set) is "" - no status of ours, which may
    move to any status."""
    if not isinstance(value, str):
        return ""
    word = _STATUS_WORDS.sub("_", value.strip().lower())
    return word if word in STATUSES else ""


def status_spellings(status: str) -> tuple[str, ...]:
    """The spellings an older item may have stored `status` under, ours first (pure): for the status index."""
    spaced = status.replace("_", " ")
    variants = (status, status.upper(), status.title(), spaced, spaced.upper(), spaced.title(), spaced.capitalize())
    return tuple(dict.fromkeys((*variants, status.replace("_", "-"), status.replace("_", "-").upper())))


def _history(value: Any) -> list[dict[str, str]]:
    """Status changes as plain text records: {"status", "by", "at"} and, on a resolve, "note"."""
    if not isinstance(value, list | tuple):
        return []
    return [{str(k): _text(v) for k, v in entry.items()} for entry in value if isinstance(entry, Mapping)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _sources(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    out: list[dict[str, Any]] = []
    for entry in value:
        if isinstance(entry, Mapping):
            source: dict[str, Any] = {str(k): v for k, v in entry.items()}
            for key in ("page_id", "title", "url"):
                source[key] = _text(source.get(key))
            if "score" in source:
                source["score"] = _number(source["score"])
            out.append(source)
        elif entry is not None:
            text = _text(entry)
            out.append({"page_id": "", "title": "" if text.startswith("http") else text, "url": text})
    return out


@dataclass
class Ticket:
    ticket_id: str
    question: str
    status: str = TicketStatus.OPEN
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
    email_status: str = EmailStatus.PENDING
    resolution_note: str = ""  # what IT did, told to the requester
    draft_url: str = ""  # the knowledge-base draft page made from this ticket
    draft_error: str = ""  # why that draft could not be made (the ticket stays resolved)
    history: list[dict[str, str]] = field(default_factory=list)  # {"status", "by", "at"[, "note"]}, oldest first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ticket:
        """Tolerant of older items: unknown keys are ignored, values of the wrong type are coerced, and missing
        fields are blank (a missing status or email_status stays blank rather than claiming "open"/"pending").
        Statuses are normalised (`normalise_status`): an older "OPEN" is "open", a numeric status is blank."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if data.get(f.name) is None:
                continue
            raw = data[f.name]
            if f.name == "sources":
                values[f.name] = _sources(raw)
            elif f.name == "confidence":
                values[f.name] = _number(raw)
            elif f.name == "history":
                values[f.name] = _history(raw)
            elif f.name == "status":
                values[f.name] = normalise_status(raw)
            else:
                values[f.name] = _text(raw)
        for blank in ("question", "status", "reason", "email_status"):
            values.setdefault(blank, "")
        values["ticket_id"] = _text(data.get("ticket_id", ""))
        return cls(**values)


TICKET_FIELDS = tuple(f.name for f in fields(Ticket))
_FIXED = ("ticket_id", "idempotency_key", "created_at")


def check_changes(changes: Mapping[str, Any]) -> None:
    """Raise TicketError for a change no store should apply (unknown field, fixed field, unknown status)."""
    for name in changes:
        if name not in TICKET_FIELDS:
            raise TicketError(f"cannot update unknown ticket field {name!r}")
        if name in _FIXED:
            raise TicketError(f"{name} cannot be changed")
    if "status" in changes and changes["status"] not in STATUSES:
        raise TicketError(f"unknown status {changes['status']!r}; one of {', '.join(STATUSES)}")


def owes_email(ticket: Ticket, *, stale_before: str) -> bool:
    """True when the sweep should (re)send this ticket's email (pure).

    Failed sends are retried at once. `pending` and `sending` are left alone until `updated_at` is older than
    `stale_before`: a fresh one is being handled by the request that created it; an old one lost its sender.
    Tickets IT has already resolved or closed are not chased.
    """
    if ticket.status not in OPEN_STATUSES:
        return False
    state = ticket.email_status
    if state.startswith("failed"):
        return True
    if state == EmailStatus.PENDING or state.startswith(EmailStatus.SENDING):
        return bool(ticket.updated_at) and ticket.updated_at < stale_before
    return False


class TicketStore(Protocol):
    """Creates are idempotent on `idempotency_key`: a repeat returns the ticket the first call made.

    `update` validates with `check_changes`, stamps `updated_at`, and raises TicketNotFound for an unknown id.
    """

    def create(self, ticket: Ticket) -> Ticket: ...

    def get(self, ticket_id: str) -> Ticket: ...

    def list(
        self,
        *,
        status: str | None = None,
        requester: str | None = None,
        limit: int = 100,
        created_before: str | None = None,
        created_after: str | None = None,
    ) -> Sequence[Ticket]:
        """Newest first. `status` matches normalised statuses (an older "OPEN" is open); `created_before` /
        `created_after` (ISO-8601 UTC text, exclusive / inclusive) bound created_at, and leave out undated items."""
        ...

    def update(self, ticket_id: str, **changes: Any) -> Ticket: ...


class TicketOutbox(Protocol):
    """What status transitions and the email outbox need beyond `TicketStore` (both stores implement it)."""

    def update_if(self, ticket_id: str, when: Mapping[str, Collection[str]], **changes: Any) -> Ticket | None:
        """Compare-and-set: apply `changes` only if every field in `when` holds one of the given values ("" also
        matches a missing attribute; statuses compare normalised, so an older "OPEN" item matches "open"). None
        when the condition is false; TicketNotFound for an unknown id."""
        ...

    def unsent(self, *, since: str, limit: int = 100) -> Sequence[Ticket]:
        """Open or in-progress tickets created at or after `since` whose email_status is not "sent" or blank
        (a superset; callers filter with `owes_email`). Oldest first."""
        ...


class OutboxStore(TicketStore, TicketOutbox, Protocol):
    """A ticket store that can also compare-and-set and list unsent tickets (SQLite and DynamoDB both are)."""


class CompareAndSetStore(ABC):
    """The part of a ticket store written once for every backend: `update` is a compare-and-set with no
    condition. A store implements `update_if` (its I/O)."""

    @abstractmethod
    def update_if(self, ticket_id: str, when: Mapping[str, Collection[str]], **changes: Any) -> Ticket | None: ...

    def update(self, ticket_id: str, **changes: Any) -> Ticket:
        ticket = self.update_if(ticket_id, {}, **changes)
        assert ticket is not None  # an empty condition always holds
        return ticket
