"""IT's workflow on a ticket, for the CLI and Slack: start, resolve (with a note told to the requester and,
optionally, a knowledge-base draft), close, reopen. The status rules are in `assistant.tickets.status`.

The status change is saved first; the requester email and the draft come after it and never undo it. A draft
that could not be made is recorded on the ticket (`draft_error`) and can be asked for again.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.drafts import DraftError, draft_page
from assistant.exceptions import MailError
from assistant.tickets.base import Ticket, TicketStatus
from assistant.tickets.desk import TicketDesk
from assistant.tickets.resolution import compose_resolution_notice
from assistant.tickets.status import set_status


@dataclass(frozen=True)
class Outcome:
    ticket: Ticket
    changed: bool  # False: it already had that status
    emailed: str = ""  # "" (not due), "sent", "no address", "off", or "failed: <reason>"
    draft: str = ""  # "" (not asked), "created", "exists", "missing: <setting>", or "failed: <reason>"


def move(desk: TicketDesk, ticket_id: str, status: str, *, by: str, note: str = "", draft: bool = False) -> Outcome:
    """Move the ticket, then (on a fresh resolve) email the requester the note, then make the draft if asked.

    Raises TicketNotFound / InvalidTransition before anything is written; email and draft failures are reported
    in the outcome (the caller says them once), never raised.
    """
    moved = set_status(desk.tickets, ticket_id, status, by=by, note=note, clock=desk.clock)
    ticket = moved.ticket
    emailed = tell_requester(desk, ticket) if moved.changed and status == TicketStatus.RESOLVED else ""
    made = ""
    if draft:
        ticket, made = make_draft(desk, ticket)
    return Outcome(ticket, moved.changed, emailed, made)


def tell_requester(desk: TicketDesk, ticket: Ticket) -> str:
    if desk.mailer is None or not desk.notify_requester:
        return "off"
    notice = compose_resolution_notice(ticket, sender=desk.sender_email, it_queue=desk.it_queue_email)
    if notice is None:
        return "no address"
    try:
        desk.mailer.send(notice)
    except MailError as exc:
        return f"failed: {exc}"
    return "sent"


def make_draft(desk: TicketDesk, ticket: Ticket) -> tuple[Ticket, str]:
    """Create the ticket's knowledge-base draft once; a failure is recorded on the ticket (`draft_error`)."""
    if ticket.draft_url:
        return ticket, "exists"
    if desk.drafts is None:
        problem = desk.drafts_missing or "knowledge-base drafts are not configured"
        return desk.tickets.update(ticket.ticket_id, draft_error=problem), f"missing: {problem}"
    try:
        url = desk.drafts.create_draft(*draft_page(ticket))
    except DraftError as exc:
        return desk.tickets.update(ticket.ticket_id, draft_error=str(exc)), f"failed: {exc}"
    return desk.tickets.update(ticket.ticket_id, draft_url=url, draft_error=""), "created"
