"""Answering in Slack: post "Looking into it…", ask the assistant (or open a ticket), and turn that message into
the answer with its buttons. The answer record the buttons need is saved before the answer is shown."""

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


@dataclass(kw_only=True, eq=False)
class AnsweringFlow:
    assistant: Callable[[], Assistant]
    open_ticket: OpenTicket
    directory: SlackDirectory
    feedback: FeedbackStore
    it_email: str

    def ask(self, api: SlackApi, key: str, question: str, history: list[Turn], where: Requester) -> AnswerRecord:
        """Answer (or open a ticket); returns the answer record the buttons will need."""
        record = AnswerRecord(question=question, user=where.user_id, channel=where.channel, thread_ts=where.thread_ts)
        try:
            result = self.assistant().ask(question, history=history, open_ticket=False)
        except InvalidQuestion as exc:
            record.answer, record.decision = str(exc), Decision.INVALID
            return record
        except Exception as exc:  # the answerer or the index failed: hand it to IT
            log.warning("answering failed", extra={"error": exc.__class__.__name__})
            who = self.directory.requester(api, where.user_id, where.channel, where.thread_ts)
            ticket = self.open_ticket(TicketRequest(question, "error", who), key)
            record.answer = (
                messages.TROUBLE_ANSWERING.format(ticket_id=ticket.ticket_id)
                if ticket
                else messages.SLACK_CANNOT_ANSWER_NOW.format(it_email=self.it_email)
            )
            record.decision = Decision.TICKET
            record.ticket_id = ticket.ticket_id if ticket else None
            return record
        record.answer = result.answer
        record.draft_answer = result.draft_answer or result.answer
        record.sources = [s.to_json() for s in result.sources]
        record.confidence = result.confidence
        record.decision = result.decision
        if result.decision == Decision.TICKET:
            who = self.directory.requester(api, where.user_id, where.channel, where.thread_ts)
            request = TicketRequest(
                result.question or question,
                "low_confidence",
                who,
                draft_answer=result.draft_answer,
                sources=result.sources,
                confidence=result.confidence,
            )
            ticket = self.open_ticket(request, key)
            if ticket is not None:
                record.answer = messages.TICKET_OPENED.format(ticket_id=ticket.ticket_id)
                record.ticket_id = ticket.ticket_id
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
        """Post "Looking into it…", answer, and update that message in place with the answer and its buttons."""
        looking = f"{header}\n{messages.SLACK_LOOKING}" if header else messages.SLACK_LOOKING
        placeholder = api.post(channel, looking, bk.text_message(looking)[1], thread_ts=thread_ts)
        if placeholder is None:
            job.outcome = f"cannot post: {api.last_error}"
            return None
        thread = thread_ts or placeholder.ts
        where = Requester(user_id=user, channel=placeholder.channel, thread_ts=thread)
        record = self.ask(api, key, question, history, where)
        ref = answer_ref(key)
        record.channel, record.thread_ts, record.answer_ts = placeholder.channel, thread, placeholder.ts
        job.decision = str(record.decision)
        job.ticket_id = str(record.ticket_id or "")
        try:
            self.feedback.save_answer(ref, record)
        except Exception as exc:  # the answer still goes out; only its buttons will lack context
            log.warning("saving the answer record failed", extra={"error": exc.__class__.__name__})
        if record.decision == Decision.INVALID:
            text, blocks = bk.text_message(bk.escape(record.answer))
        else:
            text, blocks = bk.answer_message(
                record.answer,
                record.sources,
                ref=ref,
                decision=record.decision,
                ticket_id=record.ticket_id,
                header=header,
            )
        if not api.update(placeholder.channel, placeholder.ts, text, blocks):
            posted = api.post(placeholder.channel, text, blocks, thread_ts=thread_ts)
            if posted is None:
                job.outcome = f"answer not posted: {api.last_error}"
                return None
            return posted
        return placeholder
