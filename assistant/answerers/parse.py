"""Reading a Converse reply into an `Answer` (pure). Never raises on odd model output.

Accepted, in order: the `submit_answer` tool call; a JSON object in the text (bare or in a code fence); plain text.
Plain text still gives an answer: its [n] markers become the used sources, and a plain "the sources don't cover
this" counts as not sufficient. Citation numbers that name no source are removed; an over-long answer is cut at a
paragraph or sentence boundary and marked as shortened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from assistant import messages
from assistant.citations import cited_numbers, drop_unknown_citations
from assistant.model import Answer, Source
from assistant.prompt import ANSWER_TOOL

MAX_ANSWER_CHARS = 3000  # Slack renders a section block of up to 3,000 characters
MAX_QUERY_CHARS = 300
_NOT_COVERED = re.compile(
    r"(?i)\b(?:(?:do|does|did)(?:n[’']t| not)|(?:is|are)(?:n[’']t| not)|cannot|can[’']t)\s+"
    r"(?:\w+\s+){0,2}?(?:cover|mention|include|contain|address|describe|answer|say)\b"
    r"|\bno (?:information|mention|details?)\b|\bnot covered\b"
)
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def _blocks(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    output = response.get("output") if isinstance(response, Mapping) else None
    message = output.get("message") if isinstance(output, Mapping) else None
    content = message.get("content") if isinstance(message, Mapping) else None
    return [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []


def reply_text(response: Mapping[str, Any]) -> str:
    return "\n".join(str(b["text"]) for b in _blocks(response) if isinstance(b.get("text"), str)).strip()


def usage(response: Mapping[str, Any]) -> tuple[int, int]:
    u = response.get("usage") if isinstance(response, Mapping) else None
    if not isinstance(u, Mapping):
        return 0, 0
    return _int(u.get("inputTokens")) or 0, _int(u.get("outputTokens")) or 0


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().strip("[]").isdigit():
        return int(value.strip().strip("[]"))
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _json_object(text: str) -> Mapping[str, Any] | None:
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            obj = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(obj, Mapping) and isinstance(obj.get("answer"), str):
            return obj
    return None


def _structured(response: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for block in _blocks(response):
        tool = block.get("toolUse")
        if isinstance(tool, Mapping) and tool.get("name") == ANSWER_TOOL:
            data = tool.get("input")
            if isinstance(data, str):  # some SDK paths hand the input over as a JSON string
                data = _json_object(data)
            if isinstance(data, Mapping) and isinstance(data.get("answer"), str):
                return data
    return _json_object(reply_text(response))


def shorten(text: str, limit: int = MAX_ANSWER_CHARS) -> tuple[str, bool]:
    """`text` cut to at most `limit` characters (marker included) at a paragraph, line or sentence end."""
    if len(text) <= limit:
        return text, False
    marker = " " + messages.ANSWER_SHORTENED
    room = text[: max(0, limit - len(marker))]
    for sep in ("\n\n", "\n", ". ", "! ", "? "):
        cut = room.rfind(sep)
        if cut >= len(room) // 2:
            return room[: cut + (1 if sep.strip() else 0)].rstrip() + marker, True
    return room.rstrip() + "…" + marker, True


def parse_answer(
    response: Mapping[str, Any], sources: Sequence[Source], *, max_chars: int = MAX_ANSWER_CHARS
) -> Answer:
    valid = {s.number for s in sources}
    input_tokens, output_tokens = usage(response)
    stop = str(response.get("stopReason", "")) if isinstance(response, Mapping) else ""
    data = _structured(response)
    if data is not None:
        text = str(data["answer"]).strip()
        listed = data.get("used_sources")
        listed = listed if isinstance(listed, list) else [listed] if listed is not None else []
        used = {n for n in (_int(x) for x in listed) if n is not None}
        sufficient = _bool(data.get("sufficient"))
    else:
        text = reply_text(response)
        used = set()
        sufficient = None
    text = drop_unknown_citations(text, valid).strip()
    used = sorted((used | set(cited_numbers(text))) & valid)
    if sufficient is None and text:
        sufficient = False if _NOT_COVERED.search(text) else None
    if stop in ("guardrail_intervened", "content_filtered") or not text:
        sufficient = False
    text, cut = shorten(text, max_chars)
    if stop == "max_tokens" and text and not cut:
        text = text.rstrip() + " " + messages.ANSWER_SHORTENED
    return Answer(
        text=text, used_sources=used, sufficient=sufficient, input_tokens=input_tokens, output_tokens=output_tokens
    )


def parse_rewrite(response: Mapping[str, Any], fallback: str) -> str:
    """The standalone query: the reply's first non-empty line, unquoted; `fallback` when there is none."""
    for line in reply_text(response).splitlines():
        query = re.sub(r"(?i)^\s*(?:standalone\s+)?(?:search\s+)?query\s*:\s*", "", line).strip().strip("`\"'“”")
        if query:
            return query[:MAX_QUERY_CHARS].strip()
    return fallback
