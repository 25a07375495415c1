"""Answering in Slack: post "Looking into it…", ask the assistant (or open a ticket), and turn that message into
the answer with its buttons. The answer record the buttons need is saved before the answer is shown.

A question never stays at "Looking into it…": whatever fails once the placeholder is up (the answerer, the
throttling budget, the ticket store, a bug), the placeholder becomes an answer, a ticket notice, an apology with a
ticket, or a plain apology when even the ticket failed. The placeholder is recorded (a `pending` answer record)
as soon as it is posted, so a delivery that takes over from one that died updates that same message instead of
posting a second one; if the first delivery had already settled the answer, the takeover only shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant import messages
from assistant.exceptions import InvalidQuestion
from assistant.model import Decision, Turn
from assistant.slack import blocks as bk
from assistant.slack.api import Posted, SlackApi
from assistant.slack.directory import SlackDirectory
from assistant.slack.events import answer_ref
from assistant.slack.jobs import Job
from assistant.slack.store import AnswerRecord, FeedbackStore
from assistant.tickets.base import Ticket
from assistant.tickets.desk import Requester, TicketRequest

if TYPE_CHECKING:  # the answering pipeline (numpy, FAISS) is imported only by the worker, when first needed
    from assistant.service import Assistant

log = logging.getLogger("helpdesk.slack")

OpenTicket = Callable[[TicketRequest, str], "Ticket | None"]  # (request, Slack key): None when it failed
PENDING = "pending"  # the decision of an answer record whose placeholder is posted but not yet answered


@dataclass(kw_only=True, eq=False)
class AnsweringFlow:
    assistant: Callable[[], Assistant]
    open_ticket: OpenTicket
    directory: SlackDirectory
    feedback: FeedbackStore
    it_email: str
    allow_guests: bool = False
    allow_external: bool = False

    def ask(self, api: SlackApi, key: str, question: str, history: list[Turn], where: Requester) -> AnswerRecord:
        """Answer (or open a ticket); returns the answer record the buttons will need."""
        record = AnswerRecord(question=question, user=where.user_id, channel=where.channel, thread_ts=where.thread_ts)
        try:
            result = self.assistant().ask(question, history=history, open_ticket=False)
        except InvalidQuestion as exc:
            record.answer, record.decision = str(exc), Decision.INVALID
            return record
        except Exception as exc:  # the answerer, the throttling budget or the index failed: hand it to IT
            log.warning("answering failed", extra={"error": exc.__class__.__name__})
            return self.trouble(api, key, record, where)
        record.answer = result.answer
        record.draft_answer = result.draft_answer or result.answer
        record.sources = [s.to_json() for s in result.sources]
        record.confidence = result.confidence
        record.decision = result.decision
        if result.decision == Decision.TICKET:
            trouble = result.ticket_reason == "error"  # the model was unavailable or throttled past its budget
            who = self.directory.requester(api, where.user_id, where.channel, where.thread_ts)
            request = TicketRequest(
                result.question or question,
                "error" if trouble else "low_confidence",
                who,
                draft_answer=result.draft_answer,
                sources=result.sources,
                confidence=result.confidence,
            )
            ticket = self.open_ticket(request, key)
            if ticket is not None:
                opened = messages.TROUBLE_ANSWERING if trouble else messages.TICKET_OPENED
                record.answer = opened.format(ticket_id=ticket.ticket_id)
                record.ticket_id = ticket.ticket_id
            else:  # the store failed: say so, and where to go instead
                record.answer = f"{record.answer} {messages.SLACK_TICKET_FAILED.format(it_email=self.it_email)}"
        return record

    def trouble(self, api: SlackApi, key: str, record: AnswerRecord, where: Requester) -> AnswerRecord:
        """The apology for a question that could not be answered: with a ticket (reason "error"), or plain when
        even the ticket failed. Never raises."""
        record.decision, record.sources, record.confidence = Decision.TICKET, [], None
        ticket: Ticket | None = None
        try:
            who = self.directory.requester(api, where.user_id, where.channel, where.thread_ts)
            ticket = self.open_ticket(TicketRequest(record.question, "error", who), key)
        except Exception as exc:
            log.error("ticket for a failed answer not opened", extra={"error": exc.__class__.__name__})
        record.answer = (
            messages.TROUBLE_ANSWERING.format(ticket_id=ticket.ticket_id)
            if ticket
            else messages.SLACK_CANNOT_ANSWER_NOW.format(it_email=self.it_email)
        )
        record.ticket_id = ticket.ticket_id if ticket else None
        return record

    def answer_into(
        self,
        api: SlackApi,
        job: Job,
        *,
        key: str,
        question: str,
        user: str,
        channel: str,
        thread_ts: str | None,
        history: list[Turn],
        header: str = "",
    ) -> Posted | None:
        """Post "Looking into it…" (or find the one an earlier delivery of `key` posted), answer, and update that
        message in place with the answer and its buttons."""
        # who may ask, by users.info (the event paths have also checked the event's own team fields)
        reason = self.directory.refusal(
            api, {}, {"user": user}, allow_guests=self.allow_guests, allow_external=self.allow_external
        )
        if reason is not None:
            self.refuse(api, job, reason, user=user, channel=channel, thread_ts=thread_ts)
            return None
        ref = answer_ref(key)
        prior = self._prior(ref)
        if prior is not None:  # an earlier delivery of this question died after posting its placeholder
            placeholder = Posted(prior.channel, prior.answer_ts)
            thread = prior.thread_ts or placeholder.ts
            job.outcome = "resumed"
        else:
            looking = f"{header}\n{messages.SLACK_LOOKING}" if header else messages.SLACK_LOOKING
            posted = api.post(channel, looking, bk.text_message(looking)[1], thread_ts=thread_ts)
            if posted is None:
                job.outcome = f"cannot post: {api.last_error}"
                return None
            placeholder, thread = posted, thread_ts or posted.ts
            pending = AnswerRecord(question=question, user=user, decision=PENDING)
            pending.channel, pending.thread_ts, pending.answer_ts = placeholder.channel, thread, placeholder.ts
            self._save(ref, pending)
        if prior is not None and prior.decision != PENDING:
            record = prior  # settled and saved already: only showing it was lost
        else:
            where = Requester(user_id=user, channel=placeholder.channel, thread_ts=thread)
            try:
                record = self.ask(api, key, question, history, where)
            except Exception as exc:  # a bug after the ack: the person still hears back
                log.exception("answering flow failed", extra={"error": exc.__class__.__name__})
                record = self.trouble(api, key, AnswerRecord(question=question, user=user), where)
            record.channel, record.thread_ts, record.answer_ts = placeholder.channel, thread, placeholder.ts
            self._save(ref, record)
        job.decision = str(record.decision)
        job.ticket_id = str(record.ticket_id or "")
        text, blocks = self._render(record, ref, header)
        if not api.update(placeholder.channel, placeholder.ts, text, blocks):
            posted = api.post(placeholder.channel, text, blocks, thread_ts=thread_ts)
            if posted is None:
                job.outcome = f"answer not posted: {api.last_error}"
                return None
            return posted
        return placeholder

    def refuse(self, api: SlackApi, job: Job, reason: str, *, user: str, channel: str, thread_ts: str | None) -> None:
        """The polite refusal for someone who may not ask: only to them (ephemeral) in a channel, in the DM
        otherwise, or in the thread when Slack will not show it privately. Nothing is retrieved, no ticket."""
        text, blocks = bk.refusal_message(reason)
        private = channel[:1] in ("C", "G") and api.ephemeral(channel, user, text, blocks, thread_ts=thread_ts or "")
        if not private:
            api.post(channel, text, blocks, thread_ts=thread_ts)
        job.outcome = f"refused: {reason}"

    def _prior(self, ref: str) -> AnswerRecord | None:
        """The record an earlier delivery of the same question left, when it had posted its placeholder."""
        try:
            record = self.feedback.get_answer(ref)
        except Exception as exc:  # no record to go on: answer afresh
            log.warning("reading the answer record failed", extra={"error": exc.__class__.__name__})
            return None
        return record if record is not None and record.answer_ts and record.channel else None

    def _save(self, ref: str, record: AnswerRecord) -> None:
        try:
            self.feedback.save_answer(ref, record)
        except Exception as exc:  # the answer still goes out; only its buttons (or a takeover) will lack context
            log.warning("saving the answer record failed", extra={"error": exc.__class__.__name__})

    def _render(self, record: AnswerRecord, ref: str, header: str) -> tuple[str, list[dict]]:
        try:
            if record.decision == Decision.INVALID:
                return bk.text_message(bk.escape(record.answer))
            return bk.answer_message(
                record.answer,
                record.sources,
                ref=ref,
                decision=record.decision,
                ticket_id=record.ticket_id,
                header=header,
            )
        except Exception as exc:  # an answer Block Kit cannot carry: apologise rather than leave the placeholder
            log.exception("rendering the answer failed", extra={"error": exc.__class__.__name__})
            return bk.text_message(bk.escape(record.answer or messages.TROUBLE_ANSWERING_NO_TICKET))
