"""Follow-up questions without a language model (pure): the query is the new question; the earlier question only
resolves what the new one refers to.

A follow-up that points back ("does that work on Windows?", "and if it still fails?") or is a fragment of the earlier
question ("and on a Mac?") is searched with the previous user question in front of it. Any other follow-up
("how do I connect a guest to the wifi?") is a new question and is searched alone. The assistant's earlier answers
are never part of the query: searching them would find the page that was already quoted.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.model import Turn
from index_store.lexical import tokenize

# Words that point back at the earlier question.
FOLLOWUP_CUES = frozenset(
    {"it", "that", "this", "they", "them", "those", "same", "also", "still", "one", "instead", "again"}
)
# First words of a fragment that continues the earlier question ("and on Windows?", "what about the Mac?").
FRAGMENT_LEADS = (("and",), ("or",), ("but",), ("what", "about"), ("how", "about"), ("what", "if"))
FRAGMENT_TERMS = 1  # a fragment with at most this many content words of its own is read with the earlier question
# A lead then one of these continues the earlier question's setting ("and on my Windows PC?", "or with the VPN
# off?") unless it asks a whole question of its own ("and how do I add a guest?").
SETTING_WORDS = frozenset({"on", "in", "for", "with", "without", "at", "from", "via", "under", "over", "if", "when"})
QUESTION_WORDS = frozenset(
    {"how", "what", "where", "why", "when", "who", "which", "can", "could", "do", "does", "is", "are", "should", "will"}
)


def _words(question: str) -> list[str]:
    return [w.strip("?!.,;:'\"()") for w in question.lower().split()]


def refers_back(question: str) -> bool:
    """Whether `question` needs the earlier question to be understood (pure)."""
    words = _words(question)
    if set(words) & FOLLOWUP_CUES:
        return True
    lead = next((lead for lead in FRAGMENT_LEADS if tuple(words[: len(lead)]) == lead), None)
    if lead is None:
        return False
    rest = words[len(lead) :]
    if len(tokenize(question)) <= FRAGMENT_TERMS:
        return True
    return bool(rest) and rest[0] in SETTING_WORDS and not set(rest) & QUESTION_WORDS


def local_rewrite(question: str, history: Sequence[Turn]) -> str:
    """The retrieval query for `question` in a thread with `history`: the question, after the previous user question
    (itself resolved the same way) when it refers back to it; never an assistant turn."""
    context = ""
    for turn in history:
        text = turn.text.strip()
        if turn.role == "user" and text:
            context = _resolve(text, context)
    return _resolve(question, context)


def _resolve(question: str, context: str) -> str:
    return f"{context} {question}" if context and refers_back(question) else question
