"""Who may ask: members of the installing workspace. People from other organisations (Slack Connect) and guest
accounts get a polite refusal, with no retrieval and no ticket, unless the deployment allows them."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.slack_api import iter_texts
from fakes.slack_requests import action_body, action_event, command_event, event_body, json_event

from assistant.slack import blocks as bk
from assistant.slack.directory import installing_team, is_external

VENDOR = "U0VENDOR1"
GUEST = "U0GUEST01"
GRID = "E0ORG0001"


@pytest.fixture
def people(slack_api):
    slack_api.add_user(VENDOR, "Val Vendor", "val@vendor.example")
    slack_api.users[VENDOR].update(team_id="T0VENDOR1", is_stranger=True)
    slack_api.add_user(GUEST, "Gus Guest", "gus@example.com")
    slack_api.users[GUEST].update(team_id="T0TEAM001", is_restricted=True)
    return slack_api


def _shown(slack: Any, method: str) -> list[str]:
    return [" ".join(iter_texts(c.params.get("blocks") or [])) for c in slack.fake.calls(method)]


def test_a_slack_connect_user_gets_a_refusal_and_nothing_else(people, slack):
    slack.deliver(json_event(event_body("app_mention_connect.json")))

    assert slack.assistant.asked == [] and slack.tickets.list() == []
    [refusal] = slack.fake.calls("chat.postEphemeral")
    assert refusal.params["user"] == VENDOR and bk.REFUSAL_EXTERNAL in _shown(slack, "chat.postEphemeral")[0]
    assert slack.fake.calls("chat.postMessage") == []  # nothing in the shared channel for everyone to see


def test_a_guest_in_a_channel_gets_a_refusal(people, slack):
    slack.deliver(json_event(event_body("app_mention.json", user=GUEST)))

    assert slack.assistant.asked == [] and slack.tickets.list() == []
    assert bk.REFUSAL_GUEST in _shown(slack, "chat.postEphemeral")[0]


def test_a_guest_in_a_dm_is_told_in_the_dm(people, slack):
    slack.deliver(json_event(event_body("message_im.json", user=GUEST, channel="D0GUEST01")))

    assert slack.assistant.asked == []
    [message] = slack.fake.bot_messages("D0GUEST01")
    assert bk.REFUSAL_GUEST in " ".join(iter_texts(message["blocks"]))


def test_a_stranger_by_users_info_alone_is_refused(people, slack):
    """The event looks local (no user_team), but Slack says the person is a stranger."""
    slack.deliver(json_event(event_body("app_mention.json", user=VENDOR)))
    assert slack.assistant.asked == []
    assert bk.REFUSAL_EXTERNAL in _shown(slack, "chat.postEphemeral")[0]


def test_members_are_answered_as_before(people, slack):
    slack.deliver(json_event(event_body("app_mention.json")))
    assert len(slack.answers("C0HELP001")) == 1 and slack.fake.calls("chat.postEphemeral") == []


def test_allowed_by_configuration_they_are_answered(people, make_slack):
    slack = make_slack(HELPDESK_SLACK_ALLOW_GUESTS="true", HELPDESK_SLACK_ALLOW_EXTERNAL="true")
    slack.deliver(json_event(event_body("app_mention_connect.json")))
    slack.deliver(json_event(event_body("app_mention.json", user=GUEST)))
    assert len(slack.assistant.asked) == 2 and slack.fake.calls("chat.postEphemeral") == []


def test_allowing_guests_still_refuses_other_organisations(people, make_slack):
    slack = make_slack(HELPDESK_SLACK_ALLOW_GUESTS="true")
    slack.deliver(json_event(event_body("app_mention_connect.json")))
    slack.deliver(json_event(event_body("app_mention.json", user=GUEST)))
    assert [q for q, _ in slack.assistant.asked] == ["how do I connect to the VPN?"]
    assert bk.REFUSAL_EXTERNAL in _shown(slack, "chat.postEphemeral")[0]


def test_a_refusal_that_cannot_be_shown_privately_is_posted_in_the_thread(people, slack):
    slack.fake.fail("chat.postEphemeral", "user_not_in_channel")
    slack.deliver(json_event(event_body("app_mention_connect.json")))
    [message] = slack.fake.bot_messages("C0SHARED1")
    assert message["thread_ts"] == "1700000300.000300"
    assert bk.REFUSAL_EXTERNAL in " ".join(iter_texts(message["blocks"]))


@pytest.mark.parametrize(
    ("event", "info", "external"),
    [
        ({"user_team": "T0OTHER01"}, {}, True),
        ({"team": "T0OTHER01"}, {}, True),
        ({"user_team": "T0TEAM001"}, {}, False),
        ({}, {"team_id": "T0OTHER01"}, True),
        ({}, {"is_stranger": True}, True),
        ({"user_team": "T0GRIDWS2"}, {"team_id": "T0GRIDWS2", "enterprise_user": {"enterprise_id": GRID}}, False),
        ({}, {}, False),
    ],
)
def test_who_counts_as_external(event, info, external):
    assert is_external(event, info, "T0TEAM001", GRID) is external


def test_the_installing_team_comes_from_the_authorization_first():
    body = {"team_id": "T0OTHER01", "authorizations": [{"team_id": "T0TEAM001"}]}
    assert installing_team(body) == "T0TEAM001" and installing_team({"team_id": "T0X"}) == "T0X"


def test_a_guest_asking_with_the_slash_command_is_refused_too(people, slack):
    slack.deliver(command_event("how do I connect to the VPN?", user=GUEST))

    assert slack.assistant.asked == [] and slack.tickets.list() == []
    [refusal] = slack.fake.calls("chat.postEphemeral")
    assert refusal.params["user"] == GUEST and bk.REFUSAL_GUEST in _shown(slack, "chat.postEphemeral")[0]
    assert slack.fake.calls("chat.postMessage") == []


def test_a_guest_cannot_open_a_ticket_with_the_slash_command(people, slack):
    slack.deliver(command_event("ticket give me the VPN config", user=GUEST, response_url=slack.fake.response_url()))

    assert slack.tickets.list() == [] and not list(slack.outbox.glob("*.eml"))
    [reply] = [c.params for c in slack.fake.calls("response_url")]
    assert bk.REFUSAL_GUEST in reply["text"] or bk.REFUSAL_GUEST in " ".join(iter_texts(reply.get("blocks") or []))


def test_a_stranger_cannot_open_a_ticket_from_an_answer(people, slack):
    slack.deliver(json_event(event_body("app_mention.json")))
    [answer] = slack.answers("C0HELP001")
    ref = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"][0]["value"]

    slack.deliver(action_event(action_body("helpdesk_open_ticket", ref, user=VENDOR, message=answer)))

    assert slack.tickets.list() == [] and not list(slack.outbox.glob("*.eml"))
    [refusal] = slack.fake.calls("chat.postEphemeral")
    assert refusal.params["user"] == VENDOR and bk.REFUSAL_EXTERNAL in _shown(slack, "chat.postEphemeral")[0]


def test_a_member_still_opens_a_ticket_from_an_answer(people, slack):
    slack.deliver(json_event(event_body("app_mention.json")))
    [answer] = slack.answers("C0HELP001")
    ref = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"][0]["value"]

    slack.deliver(action_event(action_body("helpdesk_open_ticket", ref, message=answer)))

    assert len(slack.tickets.list()) == 1
