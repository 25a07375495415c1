"""Pure reading of Slack payloads: which messages to answer, the question text, commands, dedupe keys, history.

Nothing here does I/O, so the ack path can call it freely and the unit tests need no fakes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant import messages
from assistant.model import Turn
from assistant.slack.blocks import unescape

# Message subtypes that are still a person writing; everything else (bot_message, message_changed,
# message_deleted, channel_join, …) is ignored.
_ANSWERABLE_SUBTYPES = (None, "", "file_share", "thread_broadcast")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_CHANNEL_REF = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")


@dataclass(frozen=True)
class ChannelPolicy:
    """Per-channel settings: an allow list (empty: every channel the bot is in), mention-only channels, and
    channels where the bot is off. Direct messages (D…) are not subject to the allow list."""

    allowlist: tuple[str, ...] = ()
    mention_only: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    def allows(self, channel: str, *, mentioned: bool) -> bool:
        if not channel or channel in self.disabled:
            return False
        if self.allowlist and channel not in self.allowlist and not channel.startswith("D"):
            return False
        return mentioned or channel not in self.mention_only


def bot_user_id_of(body: Mapping[str, Any]) -> str | None:
    """The bot's user id from an event's `authorizations` (present on every Events API delivery)."""
    for auth in body.get("authorizations") or ():
        if isinstance(auth, Mapping) and auth.get("is_bot") and auth.get("user_id"):
            return str(auth["user_id"])
    return None


def mentions(text: str, user_id: str | None) -> bool:
    return bool(user_id) and any(m.group(1) == user_id for m in _MENTION.finditer(text or ""))


def is_person_message(event: Mapping[str, Any], bot_user_id: str | None) -> bool:
    """A message a person wrote: not from a bot (ours or another), not an edit, deletion or join notice."""
    if event.get("subtype") not in _ANSWERABLE_SUBTYPES:
        return False
    if event.get("bot_id") or event.get("bot_profile") or event.get("hidden"):
        return False
    user = event.get("user")
    return bool(user) and user != bot_user_id


def is_dm(event: Mapping[str, Any]) -> bool:
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def is_thread_reply(event: Mapping[str, Any]) -> bool:
    thread = event.get("thread_ts")
    return bool(thread) and thread != event.get("ts")


def message_candidate(event: Mapping[str, Any], bot_user_id: str | None, policy: ChannelPolicy) -> bool:
    """Should a `message` event reach the worker? DMs, and thread replies in channels without a mention of the bot
    (a mention arrives as `app_mention` too, and is answered there). Whether the bot has already answered in that
    thread needs an API call, so the worker checks it."""
    if not is_person_message(event, bot_user_id):
        return False
    channel = str(event.get("channel", ""))
    if is_dm(event):
        return policy.allows(channel, mentioned=True)
    if not is_thread_reply(event) or mentions(str(event.get("text", "")), bot_user_id):
        return False
    return policy.allows(channel, mentioned=False)


def mention_candidate(event: Mapping[str, Any], policy: ChannelPolicy) -> bool:
    if event.get("bot_id") or not event.get("user") or event.get("subtype") not in _ANSWERABLE_SUBTYPES:
        return False
    return policy.allows(str(event.get("channel", "")), mentioned=True)


def clean_text(text: str, bot_user_id: str | None = None) -> str:
    """Slack's wire text as plain words: our own mention dropped, other mentions and links readable, entities
    decoded, whitespace collapsed."""
    text = text or ""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _MENTION.sub(lambda m: "@" + m.group(1), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _CHANNEL_REF.sub(lambda m: "#" + m.group(1), text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return " ".join(unescape(text).split())


@dataclass(frozen=True)
class Command:
    name: str  # ask | ticket | status | help
    arg: str


def parse_command(text: str) -> Command:
    """`/helpdesk` text: `help`, `ticket <text>`, `status [id]`, `start|close|reopen IT-…` (IT), otherwise a
    question (empty text: help)."""
    text = " ".join((text or "").split())
    word, _, rest = text.partition(" ")
    lowered = word.lower()
    if lowered in ("", "help", "-h", "--help", "?"):
        return Command("help", "")
    if lowered in ("ticket", "status"):
        return Command(lowered, rest.strip())
    if lowered in ("start", "close", "reopen") and rest.strip().upper().startswith("IT-"):  # IT's workflow
        return Command(lowered, rest.strip())
    return Command("ask", text)


def event_key(body: Mapping[str, Any]) -> str:
    return f"event:{body.get('event_id', '')}"


def command_key(body: Mapping[str, Any]) -> str:
    """Slash commands carry no id; a hash of who, where, what and the per-invocation trigger_id is one."""
    parts = [str(body.get(k, "")) for k in ("team_id", "user_id", "channel_id", "command", "text", "trigger_id")]
    return "command:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def action_key(body: Mapping[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    user = (body.get("user") or {}).get("id", "")
    return f"action:{action.get('action_id', '')}:{user}:{action.get('action_ts', '')}:{action.get('value', '')}"


def answer_ref(dedupe_key: str) -> str:
    """A short, stable reference for an answer (a button value), derived from the event that asked."""
    return hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:24]


def is_from_bot(message: Mapping[str, Any], bot_user_id: str | None, app_id: str | None) -> bool:
    if bot_user_id and message.get("user") == bot_user_id:
        return True
    ids = {message.get("app_id"), (message.get("bot_profile") or {}).get("app_id")}
    return bool(app_id) and app_id in ids


def thread_history(
    replies: Iterable[Mapping[str, Any]],
    *,
    current_ts: str,
    bot_user_id: str | None,
    app_id: str | None,
    limit: int = 10,
) -> list[Turn]:
    """The earlier turns of a thread (oldest first, at most `limit`), without the message being answered, our
    "Looking into it…" placeholders, or other bots."""
    turns = []
    for m in replies:
        if m.get("ts") == current_ts:
            continue
        if is_from_bot(m, bot_user_id, app_id):
            text = clean_text(str(m.get("text", "")))
            if text and text != messages.SLACK_LOOKING:
                turns.append(Turn("assistant", text))
        elif is_person_message(m, bot_user_id):
            text = clean_text(str(m.get("text", "")), bot_user_id)
            if text:
                turns.append(Turn("user", text))
    return turns[-limit:]


def bot_answered(replies: Sequence[Mapping[str, Any]], bot_user_id: str | None, app_id: str | None) -> bool:
    return any(is_from_bot(m, bot_user_id, app_id) for m in replies)
