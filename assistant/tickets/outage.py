"""One outage alert instead of one IT email per question while the model is down.

A ticket opened because the assistant could not answer (reason "error": Bedrock unavailable, throttled past the
retry budget, the index failing) is still saved complete and still confirmed to its requester, but its IT email
is batched: the first such ticket in a window (`OutageAlerts.window_seconds`, 15 minutes) sends an outage alert
with its own details; the later ones in that window are held (`email_status` "held: outage") and the scheduled
sweep sends one summary listing every held ticket, then marks them sent.

Which ticket opens a window is decided by an `AlertGate`: one atomic claim with a lease, so of any number of
concurrent workers exactly one sends the alert. The Slack dedupe ledger is one (`EventLedger.claim` has this
shape); `LocalAlertGate` serves a single process.

States added to the outbox (see assistant/tickets/delivery.py):

    held: outage                     IT email owed, in the next outage summary (confirmation done or not owed)
    held (requester): outage         the same, and the requester confirmation failed (retried after the summary)
    sending: outage summary[ (requester)]  claimed by a sweep sending the summary; a stale claim is resent singly
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from assistant.exceptions import MailError, TicketError
from assistant.mail.base import Mailer
from assistant.mail.compose import EmailContent, compose_ticket_email, safe_subject
from assistant.tickets.base import EmailStatus, OutboxStore, Ticket

OUTAGE_REASON = "error"
WINDOW_SECONDS = 15 * 60.0
GATE_KEY = "outage-alert"
HELD = "held: outage"
HELD_REQUESTER = "held (requester): outage"
SENDING_SUMMARY = "sending: outage summary"
SENDING_SUMMARY_REQUESTER = "sending: outage summary (requester)"
CONFIRMATION_OWED = "confirmation owed after an outage"
MAX_LISTED = 500  # tickets named in one summary; the rest wait for the next sweep


class AlertGate(Protocol):
    def claim(self, key: str, *, lease_seconds: float) -> str:
        """ "new" for exactly one caller until the lease runs out; anything else for the others."""
        ...


class LocalAlertGate:
    """An in-process gate (one process: the CLI, `helpdesk serve`, benchmarks)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, *, lease_seconds: float) -> str:
        with self._lock:
            now = self.clock()
            if now < self._until.get(key, float("-inf")):
                return "in_progress"
            self._until[key] = now + lease_seconds
            return "new"


@dataclass(frozen=True)
class OutageAlerts:
    gate: AlertGate
    window_seconds: float = WINDOW_SECONDS
    key: str = GATE_KEY

    def applies(self, ticket: Ticket) -> bool:
        return ticket.reason == OUTAGE_REASON

    def opens_window(self) -> bool:
        """True for the one caller that starts an outage window (and sends the alert). A gate that fails says
        True: an extra email is better than a silent outage."""
        try:
            return self.gate.claim(self.key, lease_seconds=self.window_seconds) == "new"
        except Exception:
            return True


def is_held(ticket: Ticket) -> bool:
    return ticket.email_status in (HELD, HELD_REQUESTER)


def compose_outage_alert(ticket: Ticket, *, sender: str, it_queue: str, window_seconds: float) -> EmailContent:
    """The first ticket of an outage, as IT's alert: the outage first, then the ticket's usual details."""
    base = compose_ticket_email(ticket, sender=sender, it_queue=it_queue)
    minutes = max(1, round(window_seconds / 60))
    note = (
        "OUTAGE: the helpdesk assistant could not answer because its model is unavailable or throttled.\n"
        f"Further tickets opened for this reason in the next {minutes} minutes are not emailed one by one; "
        "the email sweep sends one summary listing them.\n\n"
    )
    return replace(
        base,
        subject=safe_subject(ticket.ticket_id, f"Outage: the assistant cannot answer. {ticket.question}"),
        text=note + base.text,
        html=f"<p><strong>{html.escape(note.strip())}</strong></p>" + base.html,
    )


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def compose_outage_summary(tickets: Sequence[Ticket], *, sender: str, it_queue: str) -> EmailContent:
    """One email naming every ticket held during an outage: id, when, who, where and the question."""
    rows = []
    for t in tickets:
        who = t.requester_name or t.requester_id or "unknown"
        if t.requester_email:
            who += f" <{t.requester_email}>"
        rows.append((t.ticket_id, t.created_at, who, t.permalink or t.channel or "command line", _one_line(t.question)))
    text = (
        f"{len(rows)} ticket(s) were opened while the helpdesk assistant could not reach its model "
        "(unavailable or throttled). Each is saved with its full details (`helpdesk tickets show <id>`).\n\n"
        + "\n".join(f"{i}  {c}  {w}  {where}\n    {q}" for i, c, w, where, q in rows)
        + "\n"
    )
    e = html.escape
    cells = "".join(
        f"<tr><td>{e(i)}</td><td>{e(c)}</td><td>{e(w)}</td><td>{e(where)}</td><td>{e(q)}</td></tr>"
        for i, c, w, where, q in rows
    )
    body = (
        f"<h2>Outage summary: {len(rows)} ticket(s)</h2>"
        "<p>Opened while the helpdesk assistant could not reach its model (unavailable or throttled).</p>"
        "<table><tr><th>Ticket</th><th>Created</th><th>Requester</th><th>Where</th><th>Question</th></tr>"
        f"{cells}</table>"
    )
    return EmailContent(
        sender=sender,
        to=(it_queue,),
        subject=f"[helpdesk] Outage summary: {len(rows)} ticket(s) opened while the model was unavailable",
        text=text,
        html=body,
    )


def send_outage_summary(
    store: OutboxStore, mailer: Mailer, held: Sequence[Ticket], *, sender: str, it_queue: str
) -> dict[str, Any]:
    """Claim every held ticket, send one summary naming them, and mark them sent (or put them back on hold when
    the email fails). Counts: `outage_summaries` (emails sent), `outage_listed`, `outage_errors`."""
    out = {"outage_summaries": 0, "outage_listed": 0, "outage_errors": 0}
    claimed: list[tuple[Ticket, str]] = []
    for ticket in [t for t in held if is_held(t)][:MAX_LISTED]:
        sending = SENDING_SUMMARY_REQUESTER if ticket.email_status == HELD_REQUESTER else SENDING_SUMMARY
        try:
            got = store.update_if(
                ticket.ticket_id,
                {"email_status": (ticket.email_status,), "updated_at": (ticket.updated_at,)},
                email_status=sending,
            )
        except TicketError:
            out["outage_errors"] += 1
            continue
        if got is not None:
            claimed.append((got, ticket.email_status))
    if not claimed:
        return out
    try:
        mailer.send(compose_outage_summary([t for t, _ in claimed], sender=sender, it_queue=it_queue))
        sent = True
    except MailError:
        sent = False
    for ticket, was in claimed:
        if sent:
            status = EmailStatus.SENT if was == HELD else EmailStatus.FAILED_REQUESTER + CONFIRMATION_OWED
        else:
            status = was
        try:
            store.update(ticket.ticket_id, email_status=status)
        except TicketError:  # a stale "sending: outage summary" is resent on its own by a later sweep
            out["outage_errors"] += 1
    if sent:
        out["outage_summaries"], out["outage_listed"] = 1, len(claimed)
    return out
