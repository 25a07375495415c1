"""The assistant around any answerer: citations as listed, mentions defused, model failures, skipped model calls."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant import messages
from assistant.answerers.base import VerdictAnswerer
from assistant.answerers.extractive import ExtractiveAnswerer
from assistant.confidence import ConfidenceGate
from assistant.exceptions import ModelThrottled
from assistant.model import Answer, Source, Turn
from assistant.service import Assistant, renumber_citations
from assistant.tickets.desk import TicketDesk
from assistant.tickets.sqlite import SqliteTicketStore
from helpdesk.factory import build_assistant
from helpdesk.settings import Settings

VPN_Q = "my vpn keeps dropping every few minutes when I work from home, what should I try?"


class Scripted(VerdictAnswerer):
    """An answerer with a verdict that returns a fixed answer (or raises) and counts calls."""

    def __init__(self, answer: Answer | Exception) -> None:
        self.result = answer
        self.calls = 0

    def answer(self, question: str, sources: Sequence[Source], history: Sequence[Turn] = ()) -> Answer:
        self.calls += 1
        if isinstance(self.result, Exception):
            raise self.result
        return Answer(self.result.text, list(self.result.used_sources), self.result.sufficient)

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str:
        return question


@pytest.fixture
def make(sample_index: Path, tmp_path: Path):
    base = build_assistant(Settings.from_env(), str(sample_index), with_tickets=False)

    def _make(answerer, tickets: bool = True) -> Assistant:
        desk = TicketDesk(SqliteTicketStore(tmp_path / "t.sqlite3")) if tickets else None
        return Assistant(base.retriever, answerer, ConfidenceGate(), desk)

    return _make


def test_renumber_citations() -> None:
    assert renumber_citations("a [2], b [3, 5] c [9]", {2: 1, 3: 2, 5: 3}) == "a [1], b [2, 3] c [9]"


def test_answer_lists_only_cited_sources_renumbered(make) -> None:
    result = make(Scripted(Answer("Move closer to the router [3]. Pick a gateway [3][2].", [2, 3], True))).ask(VPN_Q)
    assert result.decision == "answer" and len(result.sources) == 2
    assert result.answer == "Move closer to the router [2]. Pick a gateway [2][1]."


def test_live_mentions_never_leave_the_assistant(make) -> None:
    result = make(Scripted(Answer("<!channel> restart it @here [1]", [1], True))).ask(VPN_Q)
    assert "<!channel>" not in result.answer and "@here" not in result.answer and "restart it" in result.answer


def test_model_failure_without_a_ticket_store_still_answers_politely(make) -> None:
    result = make(Scripted(ModelThrottled("busy", model_id="m", operator_hint="h")), tickets=False).ask(VPN_Q)
    assert result.decision == "ticket" and result.answer == messages.TROUBLE_ANSWERING_NO_TICKET
    assert result.ticket_reason == "error"
    assert result.ticket_id is None and result.sources


def test_hopeless_retrieval_skips_the_model_and_opens_a_ticket(make) -> None:
    scripted = Scripted(Answer("anything [1]", [1], True))
    result = make(scripted).ask("how do I increase my pension contributions")
    assert scripted.calls == 0 and result.decision == "ticket" and result.ticket_id


def test_extractive_answerer_is_never_skipped(make) -> None:
    result = make(ExtractiveAnswerer()).ask("how do I increase my pension contributions")
    assert result.decision == "ticket" and result.draft_answer  # the ticket still carries a quoted draft


def test_extractive_answer_quotes_source_2_when_source_1_is_an_overview() -> None:
    from assistant.model import Source

    overview = Source(1, "100", "Network", "u1", (), "Wi-Fi in the offices\nGuest access: getting visitors online", 1.0)
    guest = Source(
        2,
        "104",
        "Guest Wi-Fi access",
        "u2",
        (),
        "1. The guest selects Northwind-Guest wifi and the host approves the guest request.\nOther text.",
        1.0,
    )
    answer = ExtractiveAnswerer().answer("how do I connect a guest to the guest wifi", [overview, guest])
    assert 2 in answer.used_sources and "host approves the guest request. [2]" in answer.text
    # a later source that matches no better than source 1 is not quoted when source 1 fills the answer
    full = Source(1, "1", "A", "u", (), "\n".join(f"guest wifi line {i}" for i in range(8)), 1.0)
    assert ExtractiveAnswerer().answer("guest wifi", [full, guest]).used_sources == [1]
