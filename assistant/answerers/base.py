"""The `Answerer` protocol, and `VerdictAnswerer` for answerers whose sufficiency verdict is real."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assistant.model import Answer, Source, Turn


class Answerer(Protocol):
    """Writes an answer citing sources as [n]; `rewrite_query` turns a follow-up into a standalone query.

    `history` is the thread's earlier turns, oldest first. Failures of a remote model raise
    `assistant.exceptions.AnswererUnavailable` (the user gets a polite reply and a ticket).
    """

    def answer(self, question: str, sources: Sequence[Source], history: Sequence[Turn] = ()) -> Answer: ...

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str: ...


class VerdictAnswerer(Answerer):
    """An answerer whose `Answer.sufficient` is a real verdict (an LLM's), declared by subclassing this.

    The service skips calling it when even a "sufficient" verdict could not lift confidence to the threshold; an
    answerer without a verdict (extractive) is always called.
    """
