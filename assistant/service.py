"""The assistant: validate -> retrieve -> answer -> gate -> (ticket + email). Used by the CLI and by Slack."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass

from assistant import messages
from assistant.answerers.base import Answerer, VerdictAnswerer
from assistant.confidence import ConfidenceGate
from assistant.exceptions import AnswererUnavailable, InvalidQuestion
from assistant.model import AskResult, Decision, Source, SourceRef, Turn
from assistant.relevance import pages_that_might_help
from assistant.retrieval import RetrievalResult, Retriever
from assistant.safety import clean_text, defuse_mentions
from assistant.sources import build_sources
from assistant.tickets.desk import Requester, TicketDesk, TicketRequest

log = logging.getLogger(__name__)


_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def renumber_citations(text: str, mapping: Mapping[int, int]) -> str:
    """Rewrite [n] markers to the numbers of the sources as listed to the user (pure); unknown numbers are kept."""

    def repl(m: re.Match[str]) -> str:
        return "[" + ", ".join(str(mapping.get(int(n), int(n))) for n in re.split(r"\s*,\s*", m.group(1))) + "]"

    return _CITATION.sub(repl, text)


@dataclass(frozen=True)
class _TicketArgs:
    question: str
    query: str
    sources: list[Source]
    page_ids: list[str]
    requester: Requester
    open_ticket: bool
    idempotency_key: str


def validate_question(question: str, max_chars: int) -> str:
    """The question, cleaned (`clean_text`) and stripped; raises InvalidQuestion when empty or longer than
    `max_chars` (pure)."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidQuestion(messages.EMPTY_QUESTION)
    text = clean_text(question).strip()
    if not text:
        raise InvalidQuestion(messages.EMPTY_QUESTION)
    if len(text) > max_chars:
        raise InvalidQuestion(messages.QUESTION_TOO_LONG.format(length=len(text), limit=max_chars))
    if not any(ch.isalnum() for ch in text):  # "???" or an emoji alone: nothing to search for, nothing for IT
        raise InvalidQuestion(messages.NO_WORDS)
    return text


@dataclass(eq=False)
class Assistant:
    retriever: Retriever
    answerer: Answerer
    gate: ConfidenceGate
    desk: TicketDesk | None = None
    _: KW_ONLY
    max_question_chars: int = 4000
    source_token_budget: int = 3000

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
        page_ids = [p.page_id for p in result.pages]
        ticket = _TicketArgs(
            text, result.query, sources, page_ids, requester or Requester(), open_ticket, idempotency_key
        )
        if isinstance(self.answerer, VerdictAnswerer) and not self.gate.could_answer(result):
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
        answer.text = defuse_mentions(clean_text(answer.text))
        confidence = self.gate.score(result, answer.sufficient)
        decision = Decision(self.gate.decide(confidence, answer.sufficient))
        if not answer.text.strip():
            decision = Decision.TICKET
        if decision == Decision.ANSWER:
            by_number = {s.number: s for s in sources}  # in the order the answer uses them: its main page first
            cited = [by_number[n] for n in dict.fromkeys(answer.used_sources) if n in by_number] or list(sources)
            reply = renumber_citations(answer.text, {s.number: n for n, s in enumerate(cited, 1)})
            cited_refs = [SourceRef(s.page_id, s.title, s.url, s.score) for s in cited]
            return AskResult(reply, Decision.ANSWER, confidence, cited_refs, None, answer.text, text, page_ids)
        return self._ticket(ticket, confidence, reason="low_confidence", draft=answer.text)

    def _ticket(
        self, t: _TicketArgs, confidence: float, *, reason: str, draft: str = "", trouble: bool = False
    ) -> AskResult:
        # Only the pages that cover enough of the question are offered as "pages that might help".
        refs = [SourceRef(s.page_id, s.title, s.url, s.score) for s in pages_that_might_help(t.query, t.sources)]
        ticket_id = None
        reply = messages.TROUBLE_ANSWERING_NO_TICKET if trouble else messages.TICKET_NOT_OPENED
        if t.open_ticket and self.desk is not None:
            request = TicketRequest(t.question, reason, t.requester, draft, refs, confidence)
            ticket_id = self.desk.open_ticket(request, idempotency_key=t.idempotency_key).ticket_id
            reply = (messages.TROUBLE_ANSWERING if trouble else messages.TICKET_OPENED).format(ticket_id=ticket_id)
        return AskResult(reply, Decision.TICKET, confidence, refs, ticket_id, draft, t.question, t.page_ids, reason)
