"""The assistant: validate -> retrieve -> answer -> gate -> (ticket + email). Used by the CLI and by Slack."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from assistant import messages
from assistant.answerers.base import Answerer
from assistant.confidence import ConfidenceGate
from assistant.exceptions import AnswererUnavailable, AssistantError, InvalidQuestion, TicketError
from assistant.mail.base import Mailer
from assistant.model import AskResult, SourceRef, Turn
from assistant.retrieval import RetrievalResult, Retriever
from assistant.safety import defuse_mentions
from assistant.sources import build_sources
from assistant.tickets.base import OutboxStore, Ticket
from assistant.tickets.delivery import deliver

log = logging.getLogger(__name__)


_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def renumber_citations(text: str, mapping: Mapping[int, int]) -> str:
    """Rewrite [n] markers to the numbers of the sources as listed to the user (pure); unknown numbers are kept."""

    def repl(m: re.Match[str]) -> str:
        return "[" + ", ".join(str(mapping.get(int(n), int(n))) for n in re.split(r"\s*,\s*", m.group(1))) + "]"

    return _CITATION.sub(repl, text)


@dataclass(frozen=True)
class Requester:
    user_id: str = ""
    name: str = ""
    email: str = ""
    channel: str = ""
    thread_ts: str = ""
    permalink: str = ""


@dataclass(frozen=True)
class _TicketArgs:
    question: str
    refs: list[SourceRef]
    page_ids: list[str]
    requester: Requester | None
    open_ticket: bool
    idempotency_key: str


def validate_question(question: str, max_chars: int) -> str:
    """The question, stripped; raises InvalidQuestion when empty or longer than `max_chars` (pure)."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidQuestion(messages.EMPTY_QUESTION)
    text = question.strip()
    if len(text) > max_chars:
        raise InvalidQuestion(messages.QUESTION_TOO_LONG.format(length=len(text), limit=max_chars))
    if not any(ch.isalnum() for ch in text):  # "???" or an emoji alone: nothing to search for, nothing for IT
        raise InvalidQuestion(messages.NO_WORDS)
    return text


class Assistant:
    def __init__(
        self,
        retriever: Retriever,
        answerer: Answerer,
        gate: ConfidenceGate,
        tickets: OutboxStore | None = None,
        mailer: Mailer | None = None,
        *,
        max_question_chars: int = 4000,
        source_token_budget: int = 3000,
        it_queue_email: str = "it-support@example.com",
        sender_email: str = "helpdesk-bot@example.com",
        notify_requester: bool = True,
    ) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.gate = gate
        self.tickets = tickets
        self.mailer = mailer
        self.max_question_chars = max_question_chars
        self.source_token_budget = source_token_budget
        self.it_queue_email = it_queue_email
        self.sender_email = sender_email
        self.notify_requester = notify_requester

    def retrieve(self, question: str, history: Sequence[Turn] = (), k: int = 10) -> RetrievalResult:
        return self._retrieve(validate_question(question, self.max_question_chars), history, k)

    def _retrieve(self, text: str, history: Sequence[Turn], k: int = 10) -> RetrievalResult:
        query = self.answerer.rewrite_query(text, history) if history else text
        return self.retriever.retrieve(query, k=k)

    def ask(
        self,
        question: str,
        *,
        requester: Requester | None = None,
        history: Sequence[Turn] = (),
        open_ticket: bool = True,
        idempotency_key: str = "",
    ) -> AskResult:
        text = validate_question(question, self.max_question_chars)
        result = self._retrieve(text, history)
        sources = build_sources(result.pages, token_budget=self.source_token_budget)
        refs = [SourceRef(s.page_id, s.title, s.url, s.score) for s in sources]
        page_ids = [p.page_id for p in result.pages]
        ticket = _TicketArgs(text, refs, page_ids, requester, open_ticket, idempotency_key)
        if getattr(self.answerer, "gives_verdict", False) and not self.gate.could_answer(result):
            # Even a "sufficient" verdict could not lift confidence to the threshold: skip the model call.
            return self._ticket(ticket, self.gate.score(result), reason="low_confidence")
        try:
            answer = self.answerer.answer(text, sources, history)
        except AnswererUnavailable as exc:
            log.error(
                "answering model unavailable: %s",
                exc.operator_hint or exc,
                extra={"model_id": exc.model_id, "error": type(exc).__name__},
            )
            return self._ticket(ticket, self.gate.score(result), reason="error", trouble=True)
        answer.text = defuse_mentions(answer.text)
        confidence = self.gate.score(result, answer.sufficient)
        decision = self.gate.decide(confidence, answer.sufficient)
        if not answer.text.strip():
            decision = "ticket"
        if decision == "answer":
            cited = [s for s in sources if s.number in answer.used_sources] or list(sources)
            reply = renumber_citations(answer.text, {s.number: n for n, s in enumerate(cited, 1)})
            cited_refs = [SourceRef(s.page_id, s.title, s.url, s.score) for s in cited]
            return AskResult(reply, "answer", confidence, cited_refs, None, answer.text, text, page_ids)
        return self._ticket(ticket, confidence, reason="low_confidence", draft=answer.text)

    def _ticket(
        self, t: _TicketArgs, confidence: float, *, reason: str, draft: str = "", trouble: bool = False
    ) -> AskResult:
        ticket_id = None
        reply = messages.TROUBLE_ANSWERING_NO_TICKET if trouble else messages.TICKET_NOT_OPENED
        if t.open_ticket and self.tickets is not None:
            opened = self.open_ticket(
                t.question,
                reason=reason,
                draft_answer=draft,
                sources=t.refs,
                confidence=confidence,
                requester=t.requester,
                idempotency_key=t.idempotency_key,
            )
            ticket_id = opened.ticket_id
            reply = (messages.TROUBLE_ANSWERING if trouble else messages.TICKET_OPENED).format(ticket_id=ticket_id)
        return AskResult(reply, "ticket", confidence, t.refs, ticket_id, draft, t.question, t.page_ids)

    def open_ticket(
        self,
        question: str,
        *,
        reason: str,
        draft_answer: str = "",
        sources: Sequence[SourceRef] = (),
        confidence: float | None = None,
        requester: Requester | None = None,
        idempotency_key: str = "",
    ) -> Ticket:
        """Save first, then email IT (and confirm to the requester when their address is known and that is on).

        An email failure is recorded in `email_status` and retried by the scheduled sweep; it never loses the
        ticket. A repeated `idempotency_key` returns the first ticket and sends nothing new.
        """
        if self.tickets is None:
            raise AssistantError("no ticket store is configured")
        r = requester or Requester()
        ticket = self.tickets.create(
            Ticket(
                ticket_id="",
                question=question,
                requester_id=r.user_id,
                requester_name=r.name,
                requester_email=r.email,
                channel=r.channel,
                thread_ts=r.thread_ts,
                permalink=r.permalink,
                draft_answer=draft_answer,
                sources=[s.to_json() for s in sources],
                confidence=confidence,
                reason=reason,
                idempotency_key=idempotency_key,
            )
        )
        if self.mailer is None or ticket.email_status != "pending":
            return ticket  # a repeat: the first call (or the sweep) owns its email
        try:
            result = deliver(
                self.tickets,
                self.mailer,
                ticket,
                sender=self.sender_email,
                it_queue=self.it_queue_email,
                notify_requester=self.notify_requester,
            )
        except TicketError as exc:  # the ticket is saved; the sweep settles its email state later
            log.warning("ticket email state not recorded", extra={"ticket_id": ticket.ticket_id, "error": str(exc)})
            return ticket
        if result.outcome == "failed":
            log.warning(
                "ticket email failed", extra={"ticket_id": ticket.ticket_id, "error": result.ticket.email_status}
            )
        return result.ticket
