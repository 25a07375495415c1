"""Reading Slack payloads (pure): channel policy, which messages to answer, question text, commands, keys, history."""

from __future__ import annotations

import pytest

from assistant import messages
from assistant.model import Turn
from assistant.slack import events as ev
from assistant.slack.gateway import BadRequest, parse_payload, request_kind

BOT = "U0BOT"


def test_channel_policy():
    p = ev.ChannelPolicy(allowlist=("C1", "C2"), mention_only=("C2",), disabled=("C3", "D9"))
    assert p.allows("C1", mentioned=False)
    assert not p.allows("C2", mentioned=False) and p.allows("C2", mentioned=True)
    assert not p.allows("C3", mentioned=True)  # off
    assert not p.allows("C4", mentioned=True)  # not on the allow list
    assert p.allows("D1", mentioned=True)  # DMs are not subject to the allow list
    assert not p.allows("D9", mentioned=True)  # ... but can be switched off
    assert ev.ChannelPolicy().allows("C4", mentioned=False)  # no allow list: everywhere


def _msg(**kw):
    base = {"type": "message", "user": "U1", "text": "hi", "ts": "2.0", "channel": "C1", "channel_type": "channel"}
    return base | kw


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_msg(channel="D1", channel_type="im"), True),
        (_msg(thread_ts="1.0"), True),
        (_msg(), False),  # top-level channel chatter
        (_msg(thread_ts="2.0"), False),  # a thread's root
        (_msg(thread_ts="1.0", text=f"<@{BOT}> again"), False),  # app_mention answers it
        (_msg(channel="D1", channel_type="im", subtype="message_changed"), False),
        (_msg(channel="D1", channel_type="im", subtype="message_deleted"), False),
        (_msg(channel="D1", channel_type="im", subtype="bot_message", bot_id="B2"), False),
        (_msg(channel="D1", channel_type="im", bot_id="B2"), False),
        (_msg(channel="D1", channel_type="im", user=BOT), False),  # our own
        (_msg(channel="D1", channel_type="im", subtype="file_share"), True),
    ],
)
def test_message_candidate(event, expected):
    assert ev.message_candidate(event, BOT, ev.ChannelPolicy()) is expected


def test_message_candidate_respects_mention_only_and_disabled():
    assert not ev.message_candidate(_msg(thread_ts="1.0"), BOT, ev.ChannelPolicy(mention_only=("C1",)))
    assert not ev.message_candidate(_msg(thread_ts="1.0"), BOT, ev.ChannelPolicy(disabled=("C1",)))
    assert ev.mention_candidate(_msg(type="app_mention"), ev.ChannelPolicy(mention_only=("C1",)))
    assert not ev.mention_candidate(_msg(type="app_mention"), ev.ChannelPolicy(allowlist=("C9",)))


def test_clean_text():
    raw = f"<@{BOT}> can <@U2|bob> reach <https://vpn.example|the VPN> from <#C1|general>? &lt;3 <!here>"
    assert ev.clean_text(raw, BOT) == "can @U2 reach the VPN from #general? <3 @here"


@pytest.mark.parametrize(
    ("text", "name", "arg"),
    [
        ("", "help", ""),
        ("help", "help", ""),
        ("HELP", "help", ""),
        ("ticket  my   laptop", "ticket", "my laptop"),
        ("status", "status", ""),
        ("status IT-ABC", "status", "IT-ABC"),
        ("how do I print?", "ask", "how do I print?"),
        ("tickets are confusing", "ask", "tickets are confusing"),
    ],
)
def test_parse_command(text, name, arg):
    assert ev.parse_command(text) == ev.Command(name, arg)


def test_keys_are_stable_and_distinct():
    body = {"team_id": "T", "user_id": "U", "channel_id": "C", "command": "/helpdesk", "text": "x", "trigger_id": "1"}
    assert ev.command_key(body) == ev.command_key(dict(body))
    assert ev.command_key(body) != ev.command_key(body | {"trigger_id": "2"})
    assert ev.event_key({"event_id": "Ev1"}) == "event:Ev1"
    assert len(ev.answer_ref("event:Ev1")) == 24


def test_thread_history():
    replies = [
        {"user": "U1", "text": f"<@{BOT}> how do I print?", "ts": "1.0"},
        {"user": BOT, "bot_id": "B1", "text": messages.SLACK_LOOKING, "ts": "1.5"},
        {"user": BOT, "bot_id": "B1", "text": "Use PaperCut [1] &amp; badge in.", "ts": "2.0"},
        {"bot_id": "B9", "subtype": "bot_message", "text": "other bot", "ts": "2.5"},
        {"user": "U1", "text": "and in colour?", "ts": "3.0"},
    ]
    turns = ev.thread_history(replies, current_ts="3.0", bot_user_id=BOT, app_id=None)
    assert turns == [Turn("user", "how do I print?"), Turn("assistant", "Use PaperCut [1] & badge in.")]
    assert ev.bot_answered(replies, BOT, None)
    assert not ev.bot_answered(replies[:1], BOT, None)
    assert ev.bot_answered([{"app_id": "A1", "text": "x"}], None, "A1")


def test_bot_user_id_from_authorizations():
    assert ev.bot_user_id_of({"authorizations": [{"user_id": "U9", "is_bot": True}]}) == "U9"
    assert ev.bot_user_id_of({"authorizations": [{"user_id": "U9", "is_bot": False}]}) is None
    assert ev.bot_user_id_of({}) is None


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('{"type":"event_callback","event":{"type":"message","subtype":"bot_message"}}', "event:message:bot_message"),
        ('{"type":"url_verification","challenge":"x"}', "url_verification"),
        (
            "payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%7B%22action_id%22%3A%22a%22%7D%5D%7D",
            "action:a",
        ),
        ("command=%2Fhelpdesk&text=hi", "command"),
    ],
)
def test_request_kind(body, kind):
    assert request_kind(parse_payload(body, "")) == kind


def test_parse_payload_errors_are_specific():
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_payload("{oops", "application/json")
    with pytest.raises(BadRequest, match="neither a slash command"):
        parse_payload("a=1", "application/x-www-form-urlencoded")
