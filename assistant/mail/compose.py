"""Ticket emails, built as pure data: subject safe against header injection, text and HTML bodies escaped."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from assistant import messages
from assistant.tickets.base import Ticket

MAX_SUBJECT = 120
MAX_QUESTION_IN_EMAIL = 4000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ATOM = r"[^@\s<>,;:\"()\[\]\\]+"
_ADDRESS = re.compile(rf"{_ATOM}@{_ATOM}\.{_ATOM}")


@dataclass(frozen=True)
class EmailContent:
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    ticket_id: str = ""
    reply_to: tuple[str, ...] = ()


def clean_address(address: str) -> str:
    """`address` stripped when it is one plain ASCII addr-spec (no display name, list, CR/LF or spaces), else ""
    (SES takes only 7-bit addresses; anything else is treated as unknown rather than risked in a header)."""
    candidate = (address or "").strip()
    ok = len(candidate) <= 254 and candidate.isascii() and _ADDRESS.fullmatch(candidate)
    return candidate if ok else ""


def safe_subject(ticket_id: str, question: str, limit: int = MAX_SUBJECT) -> str:
    """`[IT-...] question`, one line (CR, LF and other control characters removed), at most `limit` chars."""
    one_line = " ".join(_CONTROL.sub(" ", question).split())
    subject = f"[{ticket_id}] {one_line}".strip()
    return subject if len(subject) <= limit else subject[: limit - 1].rstrip() + "…"


def _truncated(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _question_and_note(ticket: Ticket) -> tuple[str, str]:
    question, cut = _truncated(ticket.question, MAX_QUESTION_IN_EMAIL)
    note = (
        f"\n[Question truncated to {MAX_QUESTION_IN_EMAIL} of {len(ticket.question)} characters; "
        f"the full text is in ticket {ticket.ticket_id}.]"
        if cut
        else ""
    )
    return question, note


def compose_ticket_email(ticket: Ticket, *, sender: str, it_queue: str) -> EmailContent:
    """The email IT receives for a new ticket: everything needed to act without asking again.

    Replies go to the requester when their address is known.
    """
    question, note = _question_and_note(ticket)
    requester = ticket.requester_name or ticket.requester_id or "unknown"
    if ticket.requester_email:
        requester += f" <{ticket.requester_email}>"
    where = ticket.permalink or (f"channel {ticket.channel}" if ticket.channel else "command line")
    confidence = "n/a" if ticket.confidence is None else f"{ticket.confidence:.2f}"
    text_sources = "\n".join(
        f"  [{i}] {s.get('title', '')} - {s.get('url', '')}" for i, s in enumerate(ticket.sources, 1)
    )
    text = (
        f"New IT helpdesk ticket {ticket.ticket_id} ({ticket.reason})\n\n"
        f"Question:\n{question}{note}\n\n"
        f"Requester: {requester}\nWhere: {where}\nCreated: {ticket.created_at}\n"
        f"Confidence: {confidence}\n\n"
        f"Pages the assistant looked at:\n{text_sources or '  (none)'}\n\n"
        f"Draft answer (not sent to the requester as an answer):\n{ticket.draft_answer or '(none)'}\n"
    )
    e = html.escape
    html_sources = "".join(
        f'<li><a href="{e(str(s.get("url", "")))}">{e(str(s.get("title", "")))}</a></li>' for s in ticket.sources
    )
    link = f'<a href="{e(ticket.permalink)}">Slack thread</a>' if ticket.permalink else e(where)
    body = (
        f"<h2>IT helpdesk ticket {e(ticket.ticket_id)}</h2>"
        f"<p><strong>Reason:</strong> {e(ticket.reason)}</p>"
        f'<h3>Question</h3><pre style="white-space:pre-wrap">{e(question)}</pre>'
        + (f"<p><em>{e(note.strip())}</em></p>" if note else "")
        + f"<p><strong>Requester:</strong> {e(requester)}<br><strong>Where:</strong> {link}<br>"
        f"<strong>Created:</strong> {e(ticket.created_at)}<br><strong>Confidence:</strong> {confidence}</p>"
        f"<h3>Pages the assistant looked at</h3><ul>{html_sources or '<li>(none)</li>'}</ul>"
        f'<h3>Draft answer</h3><pre style="white-space:pre-wrap">{e(ticket.draft_answer or "(none)")}</pre>'
    )
    return EmailContent(
        sender=sender,
        to=(it_queue,),
        subject=safe_subject(ticket.ticket_id, ticket.question),
        text=text,
        html=body,
        ticket_id=ticket.ticket_id,
        reply_to=tuple(a for a in (clean_address(ticket.requester_email),) if a),
    )


def compose_requester_confirmation(ticket: Ticket, *, sender: str, it_queue: str) -> EmailContent | None:
    """The requester's confirmation with the ticket id, or None when their address is unknown or unusable.

    Replies go to the IT queue.
    """
    to = clean_address(ticket.requester_email)
    if not to:
        return None
    question, note = _question_and_note(ticket)
    greeting = messages.CONFIRMATION_GREETING.format(name=ticket.requester_name or "there")
    body = messages.CONFIRMATION_BODY.format(ticket_id=ticket.ticket_id)
    thread = f"\n\n{messages.CONFIRMATION_THREAD} {ticket.permalink}" if ticket.permalink else ""
    text = f"{greeting}\n\n{body}\n\n{messages.CONFIRMATION_QUESTION}\n{question}{note}{thread}\n"
    e = html.escape
    html_body = (
        f"<p>{e(greeting)}</p><p>{e(body)}</p><h3>{e(messages.CONFIRMATION_QUESTION)}</h3>"
        f'<pre style="white-space:pre-wrap">{e(question)}</pre>'
        + (f"<p><em>{e(note.strip())}</em></p>" if note else "")
        + (
            f'<p>{e(messages.CONFIRMATION_THREAD)} <a href="{e(ticket.permalink)}">{e(ticket.permalink)}</a></p>'
            if ticket.permalink
            else ""
        )
    )
    return EmailContent(
        sender=sender,
        to=(to,),
        subject=safe_subject(ticket.ticket_id, messages.CONFIRMATION_SUBJECT.format(question=ticket.question)),
        text=text,
        html=html_body,
        ticket_id=ticket.ticket_id,
        reply_to=tuple(a for a in (clean_address(it_queue),) if a),
    )
