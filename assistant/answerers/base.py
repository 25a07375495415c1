"""The `Answerer` protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assistant.model import Answer, Source, Turn


class Answerer(Protocol):
    """Writes an answer citing sources as [n]; `rewrite_query` turns a follow-up into a standalone query."""

    def answer(self, question: str, sources: Sequence[Source], history: Sequence[Turn] = ()) -> Answer: ...

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str: ...
