"""Ticket emails as an outbox: claim the ticket, send what it still owes, record the result on it.

Shared by the request that opens a ticket (`TicketDesk.open_ticket`) and the scheduled sweep, so both follow one
state machine on `email_status` (`assistant.tickets.base.EmailStatus`):

    pending / failed: ...          --claim--> sending            --IT sent--> (confirmation) --> sent
    failed (requester): ...        --claim--> sending: requester --confirmation sent--------------> sent
    IT email fails                 --> failed: <reason>              (IT is emailed again next time)
    confirmation fails             --> failed (requester): <reason>  (only the confirmation is retried)

The claim is a compare-and-set on (email_status, updated_at), so of any number of concurrent senders exactly one
sends; the others see the claim fail and leave the ticket alone.

With `outage` given, a ticket opened because the model was unavailable (reason "error") does not get its own IT
email: the first one in an outage window sends the outage alert instead, the later ones are held for the sweep's
summary (`assistant.tickets.outage`); the requester confirmation goes out either way.
"""

from __future__ import annotations

from typing import NamedTuple

from assistant.exceptions import MailError
from assistant.mail.base import Mailer
from assistant.mail.compose import compose_requester_confirmation, compose_ticket_email
from assistant.tickets.base import EmailStatus, OutboxStore, Ticket
from assistant.tickets.outage import HELD, HELD_REQUESTER, OutageAlerts, compose_outage_alert

MAX_REASON = 300


class Delivery(NamedTuple):
    ticket: Ticket
    outcome: str  # "sent" | "failed" | "busy" (claimed by someone else, or nothing owed) | "held" (outage summary)


def _reason(exc: MailError) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def owes_it_email(ticket: Ticket) -> bool:
    """True unless only the requester confirmation is left (pure)."""
    return not ticket.email_status.startswith((EmailStatus.FAILED_REQUESTER, EmailStatus.SENDING_REQUESTER))


def deliver(
    store: OutboxStore,
    mailer: Mailer,
    ticket: Ticket,
    *,
    sender: str,
    it_queue: str,
    notify_requester: bool = True,
    outage: OutageAlerts | None = None,
) -> Delivery:
    """Send what `ticket` still owes, exactly once per successful send, and record the outcome on the ticket."""
    state = ticket.email_status
    if not (state == EmailStatus.PENDING or state.startswith(("failed", EmailStatus.SENDING))):
        return Delivery(ticket, "busy")
    it_owed = owes_it_email(ticket)
    claimed = store.update_if(
        ticket.ticket_id,
        {"email_status": (state,), "updated_at": (ticket.updated_at,)},
        email_status=EmailStatus.SENDING if it_owed else EmailStatus.SENDING_REQUESTER,
    )
    if claimed is None:
        return Delivery(ticket, "busy")
    held = False
    if it_owed:
        email = compose_ticket_email(claimed, sender=sender, it_queue=it_queue)
        if outage is not None and outage.applies(claimed):
            if outage.opens_window():
                email = compose_outage_alert(
                    claimed, sender=sender, it_queue=it_queue, window_seconds=outage.window_seconds
                )
            else:
                held = True
        try:
            if not held:
                mailer.send(email)
        except MailError as exc:
            return Delivery(store.update(claimed.ticket_id, email_status=EmailStatus.FAILED + _reason(exc)), "failed")
    confirmation = (
        compose_requester_confirmation(claimed, sender=sender, it_queue=it_queue) if notify_requester else None
    )
    if confirmation is not None:
        try:
            mailer.send(confirmation)
        except MailError as exc:
            if held:  # the summary still owes IT; the confirmation is retried after it
                return Delivery(store.update(claimed.ticket_id, email_status=HELD_REQUESTER), "held")
            failed = store.update(claimed.ticket_id, email_status=EmailStatus.FAILED_REQUESTER + _reason(exc))
            return Delivery(failed, "failed")
    if held:
        return Delivery(store.update(claimed.ticket_id, email_status=HELD), "held")
    return Delivery(store.update(claimed.ticket_id, email_status=EmailStatus.SENT), "sent")
