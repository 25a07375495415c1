"""A scripted stand-in for `assistant.service.Assistant` (ask) that is also the real `TicketDesk` on a real
ticket store and mailer, and records what it was asked."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from assistant.exceptions import AssistantError, InvalidQuestion
from assistant.model import AskResult, SourceRef, Turn
from assistant.service import validate_question
from assistant.tickets.base import OutboxStore
from assistant.tickets.desk import TicketDesk

SOURCES = [
    SourceRef(
        "101", "VPN setup & <troubleshooting>", "https://wiki.example.test/wiki/spaces/IT/pages/101?a=1&b=2", 0.9
    ),
    SourceRef("102", "GlobalProtect FAQ", "https://wiki.example.test/wiki/spaces/IT/pages/102", 0.7),
]


class FakeAssistant(TicketDesk):
    """Answers every question with ANSWER and SOURCES, except: a question containing "unsure" gets a ticket
    decision; "explode" raises AssistantError; "inject" answers with text that tries to ping the channel."""

    ANSWER = "Install GlobalProtect and connect to vpn.example.com [1]. If it fails, restart the client [2]."
    INJECTION = "Done! @channel <!channel> <!here> <!everyone> <!subteam^S0ADMINS|@admins> <@U0CEO0001> & more"

    def __init__(self, tickets: OutboxStore, mailer: Any = None, *, answer: str | None = None) -> None:
        super().__init__(tickets, mailer)
        self.answer = answer or self.ANSWER
        self.asked: list[tuple[str, list[Turn]]] = []
        self._lock = threading.Lock()

    def ask(
        self,
        question: str,
        *,
        requester: Any = None,
        history: Sequence[Turn] = (),
        open_ticket: bool = True,
        idempotency_key: str = "",
    ) -> AskResult:
        text = validate_question(question, 4000)
        with self._lock:
            self.asked.append((text, list(history)))
        if "explode" in text:
            raise AssistantError("the answerer is down")
        if "unsure" in text:
            return AskResult("(not sure)", "ticket", 0.2, list(SOURCES), None, "A draft I am unsure of.", text, [])
        if "toolong" in text:
            raise InvalidQuestion("The question is 5,000 characters long; the limit is 4,000. Please shorten it.")
        answer = self.INJECTION if "inject" in text else self.answer
        return AskResult(answer, "answer", 0.9, list(SOURCES), None, answer, text, ["101", "102"])
