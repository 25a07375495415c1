"""Status transitions, for Slack ("Mark resolved") and the CLI: one compare-and-set, so a double click or two
people resolving at once change the ticket (and notify the requester) only once."""

from __future__ import annotations

from typing import NamedTuple

from assistant.exceptions import InvalidTransition, TicketError
from assistant.tickets.base import STATUSES, OutboxStore, Ticket, TicketStatus

# Which statuses each status may move to. "" is an older item with no status (or one of its own): it may move
# anywhere.
_S = TicketStatus
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "": STATUSES,
    _S.OPEN: (_S.IN_PROGRESS, _S.RESOLVED, _S.CLOSED),
    _S.IN_PROGRESS: (_S.OPEN, _S.RESOLVED, _S.CLOSED),
    _S.RESOLVED: (_S.OPEN, _S.CLOSED),  # reopen, or close for good
    _S.CLOSED: (_S.OPEN,),  # reopen only
}


class Transition(NamedTuple):
    ticket: Ticket
    changed: bool  # False: it already had that status (nothing written; do not notify again)


def allowed_from(status: str) -> tuple[str, ...]:
    """The statuses a ticket may be in to move to `status` (pure)."""
    if status not in STATUSES:
        raise TicketError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    return tuple(current for current, targets in TRANSITIONS.items() if status in targets)


def set_status(store: OutboxStore, ticket_id: str, status: str) -> Transition:
    """Move a ticket to `status`, stamping updated_at. Raises TicketNotFound, or InvalidTransition when the move
    is not allowed (e.g. closed -> resolved); a ticket already in `status` comes back with changed=False."""
    sources = allowed_from(status)
    updated = store.update_if(ticket_id, {"status": sources}, status=status)
    if updated is not None:
        return Transition(updated, True)
    current = store.get(ticket_id)
    if current.status == status:
        return Transition(current, False)
    if current.status not in TRANSITIONS:  # an older item's own vocabulary ("OPEN", "done"...): treat as blank
        updated = store.update_if(ticket_id, {"status": (current.status,)}, status=status)
        if updated is not None:
            return Transition(updated, True)
        return set_status(store, ticket_id, status)  # it changed under us: decide again
    raise InvalidTransition(f"{current.ticket_id} is {current.status or 'without a status'}; it cannot become {status}")


def resolve(store: OutboxStore, ticket_id: str) -> Transition:
    """Mark the ticket resolved: the Slack "Mark resolved" button and `helpdesk tickets resolve`."""
    return set_status(store, ticket_id, TicketStatus.RESOLVED)
