"""The email that tells the requester their ticket is resolved, with IT's note (pure). Replies go to the IT queue,
so "still broken" reaches IT (and any ticketing system with email intake) without a new form."""

from __future__ import annotations

import html

from assistant.mail.compose import EmailContent, clean_address, safe_subject
from assistant.tickets.base import Ticket

MAX_QUESTION = 1000


def compose_resolution_notice(ticket: Ticket, *, sender: str, it_queue: str) -> EmailContent | None:
    """The requester's "resolved" email with the resolution note, or None when their address is unknown."""
    to = clean_address(ticket.requester_email)
    if not to:
        return None
    question = ticket.question if len(ticket.question) <= MAX_QUESTION else ticket.question[:MAX_QUESTION] + "…"
    greeting = f"Hello {ticket.requester_name or 'there'},"
    done = f"IT has resolved your ticket {ticket.ticket_id}."
    note = ticket.resolution_note or "(IT left no note.)"
    again = "If it is not fixed, reply to this email and IT will pick it up again."
    text = f"{greeting}\n\n{done}\n\nWhat IT did:\n{note}\n\nYour question:\n{question}\n\n{again}\n"
    e = html.escape
    body = (
        f"<p>{e(greeting)}</p><p>{e(done)}</p><h3>What IT did</h3>"
        f'<pre style="white-space:pre-wrap">{e(note)}</pre><h3>Your question</h3>'
        f'<pre style="white-space:pre-wrap">{e(question)}</pre><p>{e(again)}</p>'
    )
    return EmailContent(
        sender=sender,
        to=(to,),
        subject=safe_subject(ticket.ticket_id, f"Resolved: {ticket.question}"),
        text=text,
        html=body,
        ticket_id=ticket.ticket_id,
        reply_to=tuple(a for a in (clean_address(it_queue),) if a),
    )
