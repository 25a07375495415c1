"""Block Kit formatting (pure): escaping, answer sections, numbered sources, buttons, ticket lists, App Home.

Everything that comes from a model, a wiki page or a user goes through `escape`, so no text we did not write
ourselves can ping people (`@channel`, `<!here>`, `<!subteam^…>`, `<@U…>`) or inject links.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from assistant import messages
from assistant.model import Decision
from assistant.tickets.base import OPEN_STATUSES

SECTION_LIMIT = 3000  # Slack's limit for a section's text
MAX_ANSWER_CHARS = 3 * 2900  # longer answers are cut with a pointer to the sources
MAX_SOURCES = 9  # a context block holds at most 10 elements (one is the label)
FALLBACK_CHARS = 2900  # the notification/fallback `text` of a message

ACTION_HELPFUL = "helpdesk_helpful"
ACTION_NOT_HELPFUL = "helpdesk_not_helpful"
ACTION_OPEN_TICKET = "helpdesk_open_ticket"  # reason user_requested
ACTION_OPEN_TICKET_NOT_HELPFUL = "helpdesk_open_ticket_nh"  # reason not_helpful (offered after 👎)
ACTION_RESOLVE = "helpdesk_resolve"
ANSWER_ACTIONS_BLOCK = "helpdesk_answer_actions"
TICKET_ACTIONS_BLOCK = "helpdesk_ticket_actions"

_BROADCAST_WORDS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_MD_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


def escape(text: str) -> str:
    """Slack-safe text: `&`, `<`, `>` escaped (so `<!channel>`, `<!subteam^…>`, `<@U…>` and links become inert
    text) and the bare words `@channel`, `@here`, `@everyone` broken with a word joiner."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST_WORDS.sub(lambda m: "@\u2060" + m.group(1), text)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def markdown_to_mrkdwn(text: str) -> str:
    """The little Markdown a model tends to write, as Slack mrkdwn: **bold** and # headings become *bold*."""
    text = _MD_HEADING.sub(lambda m: f"*{m.group(1)}*", text)
    return _MD_BOLD.sub(lambda m: f"*{m.group(1)}*", text)


def _cut_point(text: str, limit: int) -> int:
    """Where to cut `text` to at most `limit` chars: a paragraph, a line, a space, else a hard cut that never splits
    an `&amp;`-style entity."""
    if len(text) <= limit:
        return len(text)
    window = text[:limit]
    for sep in ("\n\n", "\n", " "):
        at = window.rfind(sep)
        if at >= limit // 2:
            return at
    tail = _ENTITY_TAIL.search(window)
    return tail.start() if tail and tail.start() > 0 else limit


def split_sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split already-escaped mrkdwn into pieces of at most `limit` characters, on natural boundaries."""
    parts = []
    rest = text.strip()
    while rest:
        cut = _cut_point(rest, limit)
        piece = rest[:cut].rstrip()
        if piece:
            parts.append(piece)
        rest = rest[cut:].lstrip()
    return parts


def truncate(text: str, limit: int, suffix: str = "") -> str:
    """`text` if it fits, else cut on a boundary to leave room for `suffix`, which is appended."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(suffix))
    return text[: _cut_point(text, room)].rstrip() + suffix


def answer_mrkdwn(answer: str) -> str:
    """The model's answer as safe mrkdwn, cut with a pointer to the sources when too long."""
    body = escape(markdown_to_mrkdwn(answer.strip()))
    return truncate(body, MAX_ANSWER_CHARS, "\n" + messages.SLACK_ANSWER_CUT)


def safe_url(url: str) -> str:
    """An http(s) URL fit for `<url|label>`, or "" when it is something else (javascript:, mailto:, garbage)."""
    url = url.strip()
    if not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return ""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._").replace("&", "&amp;")


def source_link(number: int, title: str, url: str) -> str:
    label = escape(" ".join(title.split()) or url or "untitled").replace("|", "¦")
    link = safe_url(url)
    return f"[{number}] <{link}|{label}>" if link else f"[{number}] {label}"


def sources_block(sources: Sequence[Mapping[str, Any]], label: str = messages.SLACK_SOURCES_LABEL) -> dict:
    elements = [{"type": "mrkdwn", "text": label}]
    for n, s in enumerate(sources[:MAX_SOURCES], 1):
        elements.append({"type": "mrkdwn", "text": source_link(n, str(s.get("title", "")), str(s.get("url", "")))})
    return {"type": "context", "elements": elements}


def button(text: str, action_id: str, value: str, style: str = "") -> dict:
    b = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text, "emoji": True}}
    b["value"] = value
    if style:
        b["style"] = style
    return b


def section(text: str, block_id: str = "") -> dict:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}
    if block_id:
        block["block_id"] = block_id
    return block


def answer_buttons(ref: str) -> dict:
    return {
        "type": "actions",
        "block_id": ANSWER_ACTIONS_BLOCK,
        "elements": [
            button(messages.SLACK_BUTTON_HELPFUL, ACTION_HELPFUL, ref),
            button(messages.SLACK_BUTTON_NOT_HELPFUL, ACTION_NOT_HELPFUL, ref),
            button(messages.SLACK_BUTTON_OPEN_TICKET, ACTION_OPEN_TICKET, ref),
        ],
    }


def resolve_actions(ticket_id: str) -> dict:
    return {
        "type": "actions",
        "block_id": TICKET_ACTIONS_BLOCK,
        "elements": [button(messages.SLACK_BUTTON_RESOLVE, ACTION_RESOLVE, ticket_id, style="primary")],
    }


def answer_message(
    answer: str,
    sources: Sequence[Mapping[str, Any]],
    *,
    ref: str,
    decision: str = Decision.ANSWER,
    ticket_id: str | None = None,
    header: str = "",
) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for an answer: sections of <= 3,000 chars, numbered sources, then the buttons.

    A ticket decision shows the ticket notice, the pages that might help and a "Mark resolved" button instead of
    the feedback buttons. `header` is our own mrkdwn (already safe), shown first.
    """
    body = answer_mrkdwn(answer)
    blocks = [section(header)] if header else []
    blocks += [section(part) for part in split_sections(body)]
    if sources:
        label = messages.SLACK_SOURCES_LABEL if decision == Decision.ANSWER else messages.SLACK_PAGES_LABEL
        blocks.append(sources_block(sources, label))
    if ticket_id:
        blocks.append(resolve_actions(ticket_id))
    else:
        blocks.append(answer_buttons(ref))
    return truncate(body, FALLBACK_CHARS, "…"), blocks


def text_message(text: str) -> tuple[str, list[dict]]:
    """A plain message of our own words (already safe mrkdwn)."""
    return text, [section(part) for part in split_sections(text)]


def _quote(question: str, limit: int = 500) -> str:
    return truncate(escape(" ".join(question.split())), limit, "…")


def person(user_id: str, name: str = "") -> str:
    """A mention of a Slack user we know by id (our own markup), else their escaped name."""
    if re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id or ""):
        return f"<@{user_id}>"
    return escape(name or user_id or "someone")


def ticket_message(ticket: Any, intro: str = "") -> tuple[str, list[dict]]:
    """A ticket notice with a "Mark resolved" button (`intro` is our own text, shown first)."""
    head = messages.SLACK_TICKET_HEADER.format(
        ticket_id=ticket.ticket_id,
        status=ticket.status,
        requester=person(ticket.requester_id, ticket.requester_name),
        question=_quote(ticket.question),
    )
    text = f"{intro}\n{head}" if intro else head
    blocks = [section(text)]
    if ticket.sources:
        blocks.append(sources_block(ticket.sources, messages.SLACK_PAGES_LABEL))
    if ticket.status in OPEN_STATUSES:
        blocks.append(resolve_actions(ticket.ticket_id))
    return truncate(text, FALLBACK_CHARS, "…"), blocks


def ticket_line(ticket: Any) -> dict:
    text = messages.SLACK_TICKET_LINE.format(
        ticket_id=ticket.ticket_id,
        status=ticket.status.replace("_", " "),
        created_at=(ticket.created_at or "-")[:10],
        question=_quote(ticket.question, 300),
    )
    block = section(text)
    if ticket.status in OPEN_STATUSES:
        block["accessory"] = button(messages.SLACK_BUTTON_RESOLVE, ACTION_RESOLVE, ticket.ticket_id)
    return block


def tickets_message(tickets: Sequence[Any], limit: int = 20) -> tuple[str, list[dict]]:
    if not tickets:
        return text_message(messages.SLACK_NO_TICKETS)
    blocks = [ticket_line(t) for t in tickets[:limit]]
    if len(tickets) > limit:
        blocks.append(section(messages.SLACK_HOME_MORE.format(count=len(tickets) - limit)))
    return messages.SLACK_TICKETS_COUNT.format(count=len(tickets)), blocks


def resolved_blocks(original: Sequence[Mapping[str, Any]], user: str) -> list[dict]:
    """The clicked ticket message with its "Mark resolved" button replaced by who resolved it."""
    done = {"type": "context", "elements": [{"type": "mrkdwn", "text": messages.SLACK_RESOLVED_BY.format(user=user)}]}
    out = []
    for block in original:
        if block.get("block_id") == TICKET_ACTIONS_BLOCK:
            out.append(done)
        else:
            out.append(dict(block))
    return out


def home_view(tickets: Sequence[Any], limit: int = 20) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": messages.SLACK_HOME_TITLE}},
        section(messages.SLACK_HELP),
        {"type": "divider"},
        section(messages.SLACK_HOME_TICKETS),
    ]
    blocks += tickets_message(tickets, limit)[1]
    return {"type": "home", "blocks": blocks}


# --- refusals (who may ask) ----------------------------------------------------------------------------------------
REFUSAL_EXTERNAL = (
    "Sorry, I can only help members of this organisation. Please ask your own IT team, or your contact here."
)
REFUSAL_GUEST = "Sorry, I can't help guest accounts. Please ask your contact here to raise it with IT."


def refusal_message(reason: str) -> tuple[str, list[dict]]:
    """The polite refusal for someone who may not ask ("external" or "guest")."""
    return text_message(REFUSAL_EXTERNAL if reason == "external" else REFUSAL_GUEST)


RESOLVE_MODAL = "helpdesk_resolve_modal"  # callback_id of the "Mark resolved" modal (IT)
NOTE_BLOCK, NOTE_ACTION = "helpdesk_note", "note"
DRAFT_BLOCK, DRAFT_ACTION = "helpdesk_draft", "draft"


def resolve_modal(ticket_id: str, metadata: str) -> dict:
    """The modal IT gets from "Mark resolved": a note for the requester and "suggest a knowledge-base page"."""
    return {
        "type": "modal",
        "callback_id": RESOLVE_MODAL,
        "private_metadata": metadata[:3000],
        "title": {"type": "plain_text", "text": "Resolve ticket"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"Resolve *{escape(ticket_id)}*. The note is kept on the ticket and emailed to the requester."),
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "What fixed it"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_ACTION,
                    "multiline": True,
                    "max_length": 3000,
                },
            },
            {
                "type": "input",
                "block_id": DRAFT_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Knowledge base"},
                "element": {
                    "type": "checkboxes",
                    "action_id": DRAFT_ACTION,
                    "options": [
                        {"text": {"type": "plain_text", "text": "Suggest a knowledge-base page"}, "value": "draft"}
                    ],
                },
            },
        ],
    }


def modal_values(view: Mapping[str, Any]) -> tuple[str, bool]:
    """(note, draft asked for) from a submitted resolve modal's state (pure)."""
    values = (view.get("state") or {}).get("values") or {}
    note = str(((values.get(NOTE_BLOCK) or {}).get(NOTE_ACTION) or {}).get("value") or "")
    chosen = ((values.get(DRAFT_BLOCK) or {}).get(DRAFT_ACTION) or {}).get("selected_options") or []
    return note.strip(), any(o.get("value") == "draft" for o in chosen)
