"""The ticket desk: opens a ticket (saved first) and sends its email to the IT queue and, where configured, a
confirmation to the requester. The CLI, the assistant and Slack all open tickets through it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field

from assistant.drafts import DraftPublisher
from assistant.exceptions import TicketError
from assistant.mail.base import Mailer
from assistant.model import SourceRef
from assistant.tickets.base import Clock, EmailStatus, OutboxStore, Ticket, system_clock
from assistant.tickets.delivery import deliver
from assistant.tickets.outage import OutageAlerts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requester:
    """Who asked, and where (a Slack thread and its link when the question came from Slack)."""

    user_id: str = ""
    name: str = ""
    email: str = ""
    channel: str = ""
    thread_ts: str = ""
    permalink: str = ""


@dataclass(frozen=True)
class TicketRequest:
    """What IT gets: the question, why the bot could not settle it, and what it found."""

    question: str
    reason: str
    requester: Requester = field(default_factory=Requester)
    draft_answer: str = ""
    sources: Sequence[SourceRef] = ()
    confidence: float | None = None


@dataclass(eq=False)
class TicketDesk:
    tickets: OutboxStore
    mailer: Mailer | None = None
    _: KW_ONLY
    it_queue_email: str = "it-support@example.com"
    sender_email: str = "helpdesk-bot@example.com"
    notify_requester: bool = True
    outage: OutageAlerts | None = None  # batch the IT emails of tickets opened during a model outage
    drafts: DraftPublisher | None = None  # knowledge-base drafts from resolved tickets (assistant.tickets.workflow)
    drafts_missing: str = ""  # without drafts: the setting that is missing, told when a draft is asked for
    clock: Clock = system_clock  # the time recorded in a ticket's history

    def open_ticket(self, request: TicketRequest, *, idempotency_key: str = "") -> Ticket:
        """Save first, then email IT (and confirm to the requester when their address is known and that is on).

        An email failure is recorded in `email_status` and retried by the scheduled sweep; it never loses the
        ticket. A repeated `idempotency_key` returns the first ticket and sends nothing new.
        """
        r = request.requester
        ticket = self.tickets.create(
            Ticket(
                ticket_id="",
                question=request.question,
                requester_id=r.user_id,
                requester_name=r.name,
                requester_email=r.email,
                channel=r.channel,
                thread_ts=r.thread_ts,
                permalink=r.permalink,
                draft_answer=request.draft_answer,
                sources=[s.to_json() for s in request.sources],
                confidence=request.confidence,
                reason=request.reason,
                idempotency_key=idempotency_key,
            )
        )
        if self.mailer is None or ticket.email_status != EmailStatus.PENDING:
            return ticket  # a repeat: the first call (or the sweep) owns its email
        try:
            result = deliver(
                self.tickets,
                self.mailer,
                ticket,
                sender=self.sender_email,
                it_queue=self.it_queue_email,
                notify_requester=self.notify_requester,
                outage=self.outage,
            )
        except TicketError as exc:  # the ticket is saved; the sweep settles its email state later
            log.warning("ticket email state not recorded", extra={"ticket_id": ticket.ticket_id, "error": str(exc)})
            return ticket
        if result.outcome == "failed":
            log.warning(
                "ticket email failed", extra={"ticket_id": ticket.ticket_id, "error": result.ticket.email_status}
            )
        return result.ticket
