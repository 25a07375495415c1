"""Follow-up questions without a language model (pure): borrow the previous question's terms when needed."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.model import Turn
from index_store.lexical import tokenize

FOLLOWUP_CUES = frozenset(
    {"it", "that", "this", "they", "them", "those", "there", "same", "also", "still", "one", "instead", "again"}
)
SHORT_FOLLOWUP_TERMS = 4  # a follow-up with this many content words or fewer is read in context


def local_rewrite(question: str, history: Sequence[Turn]) -> str:
    """A short or referential follow-up ("and on windows?", "does that work for it too?") is prefixed with the
    previous user question, so retrieval sees both; a self-contained question is left alone."""
    previous = [t.text.strip() for t in history if t.role == "user" and t.text.strip()]
    if not previous:
        return question
    words = {w.strip("?!.,;:") for w in question.lower().split()}
    if len(tokenize(question)) <= SHORT_FOLLOWUP_TERMS or words & FOLLOWUP_CUES:
        return f"{previous[-1]} {question}"
    return question
