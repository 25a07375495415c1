"""Every Slack question lands in the interaction log with where it was asked, and a 👍/👎 lands on it too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fakes.slack_api import ALICE, BOB
from fakes.slack_requests import action_body, action_event, command_event, event_body, json_event

from assistant.interactions.sqlite import SqliteInteractionStore


def _log(tmp_path):
    now = datetime.now(UTC)
    return SqliteInteractionStore(tmp_path / "interactions.sqlite3").since(now - timedelta(days=1), now=now)


def test_a_mention_a_dm_and_a_command_are_recorded_with_their_origin(make_slack, tmp_path):
    slack = make_slack(HELPDESK_HOME=str(tmp_path))
    slack.deliver(json_event(event_body("app_mention.json")))
    slack.deliver(json_event(event_body("message_im.json")))
    slack.deliver(command_event("I am unsure how my pension works, mail me at bob@example.com", user=BOB))

    by_origin = {i.origin: i for i in _log(tmp_path)}
    assert set(by_origin) == {"channel", "dm", "command"}
    mention, dm, command = by_origin["channel"], by_origin["dm"], by_origin["command"]
    assert mention.question == "how do I connect to the VPN?" and mention.decision == "answer"
    assert [s["page_id"] for s in mention.sources] == ["101", "102"] and mention.confidence == 0.9
    assert dm.question == "How do I set up the printer?"
    assert command.decision == "ticket" and command.ticket_id and command.ticket_id.startswith("IT-")
    assert "bob@example.com" not in command.question and "[email address]" in command.question
    assert all(i.latency_ms is not None and i.latency_ms >= 0 for i in by_origin.values())


def test_votes_are_recorded_onto_the_interaction_and_a_changed_vote_replaces_it(make_slack, tmp_path):
    slack = make_slack(HELPDESK_HOME=str(tmp_path))
    slack.deliver(json_event(event_body("app_mention.json")))
    [answer] = slack.answers("C0HELP001")
    ref = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"][0]["value"]

    slack.deliver(action_event(action_body("helpdesk_helpful", ref, user=ALICE, message=answer)))
    [interaction] = _log(tmp_path)
    assert interaction.interaction_id == ref and interaction.vote == "helpful"

    slack.deliver(action_event(action_body("helpdesk_not_helpful", ref, user=ALICE, message=answer)))
    [interaction] = _log(tmp_path)
    assert interaction.vote == "not_helpful"
    assert interaction.answer.startswith("Install GlobalProtect")  # the digest shows what was rated down
