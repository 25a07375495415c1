"""Status transitions, for Slack and the CLI: the one place that says which status may follow which.

Each move is one compare-and-set on the status the ticket was read with, so a double click or two people
resolving at once change the ticket (and notify the requester) only once. Every move records who made it and
when in the ticket's `history`.
"""

from __future__ import annotations

from typing import NamedTuple

from assistant.exceptions import InvalidTransition, TicketError
from assistant.tickets.base import STATUSES, Clock, OutboxStore, Ticket, TicketStatus, system_clock, utc_now

# Which statuses each status may move to. "" is an older item with no status of ours (none, a number, "done"):
# it may move anywhere. Stores normalise older spellings ("OPEN") on read.
_S = TicketStatus
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "": STATUSES,
    _S.OPEN: (_S.IN_PROGRESS, _S.RESOLVED, _S.CLOSED),
    _S.IN_PROGRESS: (_S.OPEN, _S.RESOLVED, _S.CLOSED),
    _S.RESOLVED: (_S.OPEN, _S.CLOSED),  # reopen, or close for good
    _S.CLOSED: (_S.OPEN,),  # reopen only
}
# The workflow's verbs (CLI actions and Slack commands) and the status each one sets.
ACTIONS: dict[str, str] = {
    "start": _S.IN_PROGRESS,
    "resolve": _S.RESOLVED,
    "close": _S.CLOSED,
    "reopen": _S.OPEN,
}
MAX_ATTEMPTS = 8  # re-reads when someone else changed the ticket between our read and our write
MAX_NOTE = 4000


class Transition(NamedTuple):
    ticket: Ticket
    changed: bool  # False: it already had that status (nothing written; do not notify again)


def allowed_from(status: str) -> tuple[str, ...]:
    """The statuses a ticket may be in to move to `status` (pure)."""
    if status not in STATUSES:
        raise TicketError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    return tuple(current for current, targets in TRANSITIONS.items() if status in targets)


def check_note(note: str) -> str:
    """The note trimmed, or TicketError when it is too long to keep or email (pure)."""
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise TicketError(f"the note has {len(note)} characters; at most {MAX_NOTE}")
    return note


def set_status(
    store: OutboxStore,
    ticket_id: str,
    status: str,
    *,
    by: str = "",
    note: str = "",
    clock: Clock = system_clock,
) -> Transition:
    """Move a ticket to `status`, recording {"status", "by", "at"[, "note"]} in its history (a resolve also keeps
    the note as `resolution_note`). Raises TicketNotFound, or InvalidTransition when the move is not allowed
    (e.g. closed -> resolved); a ticket already in `status` comes back unchanged with changed=False."""
    if status not in STATUSES:
        raise TicketError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    note = check_note(note)
    for _ in range(MAX_ATTEMPTS):
        current = store.get(ticket_id)
        if current.status == status:
            return Transition(current, False)
        if status not in TRANSITIONS.get(current.status, STATUSES):
            raise InvalidTransition(
                f"{current.ticket_id} is {current.status or 'without a status'}; it cannot become {status}"
            )
        entry = {"status": status, "by": by, "at": utc_now(clock)}
        changes: dict[str, object] = {"status": status}
        if note:
            entry["note"] = note
        if status == TicketStatus.RESOLVED:
            changes["resolution_note"] = note
        changes["history"] = [*current.history, entry]
        updated = store.update_if(current.ticket_id, {"status": (current.status,)}, **changes)
        if updated is not None:
            return Transition(updated, True)
    raise TicketError(f"{ticket_id} kept changing while it was being set to {status}; try again")


def resolve(
    store: OutboxStore, ticket_id: str, *, by: str = "", note: str = "", clock: Clock = system_clock
) -> Transition:
    """Mark the ticket resolved: the Slack "Mark resolved" button and `helpdesk tickets resolve`."""
    return set_status(store, ticket_id, TicketStatus.RESOLVED, by=by, note=note, clock=clock)
