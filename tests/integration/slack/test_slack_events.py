"""Mentions, DMs, thread follow-ups, App Home and what the bot ignores, through `handler.lambda_handler`."""

from __future__ import annotations

import json

import pytest
from fakes.slack_api import ALICE, iter_texts
from fakes.slack_requests import event_body, json_event


def _texts(message: dict) -> str:
    return "\n".join(iter_texts(message["blocks"]))


def test_mention_is_answered_in_its_thread_with_sources_and_buttons(slack):
    response = slack.deliver(json_event(event_body("app_mention.json")))

    assert response["statusCode"] == 200
    [answer] = slack.answers("C0HELP001")
    assert answer["thread_ts"] == "1700000100.000100"  # the mention's own ts: a new thread under it
    text = _texts(answer)
    assert "Install GlobalProtect and connect to vpn.example.com [1]" in text
    assert (
        "<https://wiki.example.test/wiki/spaces/IT/pages/101?a=1&amp;b=2|VPN setup &amp; &lt;troubleshooting&gt;>"
        in text
    )
    assert "[2] <https://wiki.example.test/wiki/spaces/IT/pages/102|GlobalProtect FAQ>" in text
    actions = next(b for b in answer["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        "helpdesk_helpful",
        "helpdesk_not_helpful",
        "helpdesk_open_ticket",
    ]
    assert answer["blocks"][-1] is not None and answer["blocks"][-1]["type"] == "actions"  # buttons come last
    # progress first ("Looking into it…"), then the same message updated in place: one message, no second post
    posts = slack.fake.calls("chat.postMessage")
    assert len(posts) == 1 and "Looking into it" in posts[0].params["text"]
    assert len(slack.fake.calls("chat.update")) == 1
    assert slack.assistant.asked == [("how do I connect to the VPN?", [])]


def test_answer_sections_are_at_most_3000_chars_and_long_answers_point_to_sources(make_slack):
    from fakes.assistant import FakeAssistant

    long_answer = ("Step: open the client and check the gateway address. " * 400).strip()
    slack = make_slack(lambda t, m: FakeAssistant(t, m, answer=long_answer))
    slack.deliver(json_event(event_body("app_mention.json")))

    [answer] = slack.answers()
    sections = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    assert len(sections) >= 2
    assert all(len(s) <= 3000 for s in sections)
    assert "the sources below have the full details" in sections[-1]
    assert len(answer["text"]) <= 3000


def test_direct_message_is_answered_in_the_dm(slack):
    slack.deliver(json_event(event_body("message_im.json")))

    [answer] = slack.answers("D0ALICE01")
    assert "thread_ts" not in answer  # a top-level DM gets a top-level reply
    assert slack.assistant.asked[0][0] == "How do I set up the printer?"


def test_follow_up_in_a_thread_the_bot_answered_carries_the_history(slack):
    slack.fake.add_message(
        "C0HELP001", "1700000100.000100", user=ALICE, text="<@U0BOT0001> how do I connect to the VPN?"
    )
    slack.deliver(json_event(event_body("app_mention.json")))
    slack.fake.add_message(
        "C0HELP001", "1700000300.000300", user=ALICE, text="and what if it still fails?", thread_ts="1700000100.000100"
    )

    slack.deliver(json_event(event_body("message_thread_reply.json")))

    answers = slack.answers("C0HELP001")
    assert len(answers) == 2 and all(a["thread_ts"] == "1700000100.000100" for a in answers)
    question, history = slack.assistant.asked[-1]
    assert question == "and what if it still fails?"
    assert [t.role for t in history] == ["user", "assistant"]
    assert history[0].text == "how do I connect to the VPN?"
    assert history[1].text.startswith("Install GlobalProtect")


def test_thread_reply_where_the_bot_never_answered_is_ignored(slack):
    slack.fake.add_message("C0HELP001", "1700000100.000100", user=ALICE, text="lunch anyone?")
    slack.deliver(json_event(event_body("message_thread_reply.json")))

    assert slack.fake.calls("chat.postMessage") == []
    assert slack.assistant.asked == []


def test_thread_reply_that_mentions_the_bot_is_answered_once(slack):
    """Slack sends both app_mention and message for it; only the mention answers."""
    slack.fake.add_message("C0HELP001", "1700000100.000100", user=ALICE, text="<@U0BOT0001> VPN?")
    slack.deliver(json_event(event_body("app_mention.json")))
    text = "<@U0BOT0001> and the printer?"
    slack.deliver(json_event(event_body("message_thread_reply.json", text=text)))
    slack.deliver(
        json_event(event_body("app_mention.json", text=text, ts="1700000300.000300", thread_ts="1700000100.000100"))
    )
    assert len(slack.answers("C0HELP001")) == 2  # the first mention and this one, not three


@pytest.mark.parametrize("fixture", ["message_bot.json", "message_changed.json", "message_deleted.json"])
def test_bot_messages_edits_and_deletions_are_acked_and_ignored(slack, fixture):
    response = slack.deliver(json_event(event_body(fixture)))

    assert response["statusCode"] == 200
    assert slack.runner.started == 0  # no lazy work even started
    assert slack.fake.calls() == []


def test_the_bots_own_message_is_ignored(slack):
    body = event_body("message_im.json", user="U0BOT0001", bot_id="B0BOT0001", text="Looking into it…")
    slack.deliver(json_event(body))
    assert slack.runner.started == 0 and slack.fake.calls() == []


def test_top_level_channel_chatter_is_ignored(slack):
    body = event_body("message_thread_reply.json", thread_ts=None)
    body["event"].pop("thread_ts")
    slack.deliver(json_event(body))
    assert slack.runner.started == 0


def test_app_home_lists_open_tickets_and_how_to_ask(slack):
    from assistant.tickets.base import Ticket

    slack.tickets.create(Ticket(ticket_id="", question="My laptop fan is loud", requester_id=ALICE))
    done = slack.tickets.create(Ticket(ticket_id="", question="Old one", requester_id=ALICE))
    slack.tickets.update(done.ticket_id, status="resolved")
    slack.tickets.create(Ticket(ticket_id="", question="Someone else's", requester_id="U0OTHER01"))

    slack.deliver(json_event(event_body("app_home_opened.json")))

    [publish] = slack.fake.calls("views.publish")
    assert publish.params["user_id"] == ALICE
    view = publish.params["view"]
    text = "\n".join(iter_texts(view["blocks"]))
    assert view["type"] == "home"
    assert "My laptop fan is loud" in text and "Old one" not in text and "Someone else" not in text
    assert "/helpdesk ticket" in text  # how to ask


def test_url_verification_echoes_the_challenge(slack):
    body = json.loads(json.dumps(__import__("fakes.slack_requests").slack_requests.fixture("url_verification.json")))
    response = slack.send(json_event(body))
    assert response["statusCode"] == 200
    assert body["challenge"] in response["body"]


def test_no_auth_test_round_trip_at_construction_or_on_the_first_request(slack):
    assert slack.fake.calls() == []  # building the app made no call
    slack.deliver(json_event(event_body("app_mention.json")))
    assert slack.fake.calls("auth.test") == []


def test_disabled_channel_is_ignored(make_slack):
    slack = make_slack(HELPDESK_DISABLED_CHANNELS="C0HELP001")
    response = slack.deliver(json_event(event_body("app_mention.json")))
    assert response["statusCode"] == 200 and slack.runner.started == 0 and slack.fake.calls() == []


def test_channel_outside_the_allow_list_is_ignored_but_dms_are_answered(make_slack):
    slack = make_slack(HELPDESK_CHANNEL_ALLOWLIST="C0OTHER01")
    slack.deliver(json_event(event_body("app_mention.json")))
    assert slack.fake.calls() == []
    slack.deliver(json_event(event_body("message_im.json")))
    assert len(slack.answers("D0ALICE01")) == 1


def test_mention_only_channel_answers_mentions_but_not_follow_ups(make_slack):
    slack = make_slack(HELPDESK_MENTION_ONLY_CHANNELS="C0HELP001")
    slack.fake.add_message("C0HELP001", "1700000100.000100", user=ALICE, text="<@U0BOT0001> VPN?")
    slack.deliver(json_event(event_body("app_mention.json")))
    slack.deliver(json_event(event_body("message_thread_reply.json")))
    assert len(slack.answers("C0HELP001")) == 1
    assert len(slack.assistant.asked) == 1


def test_command_in_a_disabled_channel_is_answered_in_the_dm(make_slack):
    from fakes.slack_requests import command_event

    slack = make_slack(HELPDESK_DISABLED_CHANNELS="C0HELP001")
    slack.deliver(command_event("how do I connect to the VPN?", response_url=slack.fake.response_url()))
    assert slack.answers("C0HELP001") == [] and len(slack.answers("D0ALICE01")) == 1


def test_empty_mention_gets_help_in_the_thread(slack):
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001>")))
    [reply] = slack.fake.bot_messages("C0HELP001")
    assert reply["thread_ts"] == "1700000100.000100" and "Ask me an IT question" in reply["text"]
    assert slack.assistant.asked == []


def test_too_long_question_is_explained(slack):
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> toolong " + "x" * 50)))
    [reply] = slack.fake.bot_messages("C0HELP001")
    assert "limit is 4,000" in reply["text"]


def test_a_thread_reply_asking_something_else_gets_its_own_answer_from_the_sample_space(make_slack, tmp_path):
    import subprocess
    import sys

    from support import ROOT, SAMPLE_EXPORT

    from assistant.tickets.desk import TicketDesk
    from helpdesk.factory import build_assistant
    from helpdesk.settings import Settings

    index = tmp_path / "index"
    subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(index)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )

    class SampleAssistant(TicketDesk):
        def __init__(self, tickets, mailer):
            super().__init__(tickets, mailer)
            self.inner = build_assistant(Settings.from_env(), str(index), with_tickets=False)
            self.inner.desk = self

        def ask(self, question, **kwargs):
            return self.inner.ask(question, **kwargs)

    slack = make_slack(SampleAssistant)
    first = "<@U0BOT0001> how do I reset my MFA device?"
    slack.fake.add_message("C0HELP001", "1700000100.000100", user=ALICE, text=first)
    slack.deliver(json_event(event_body("app_mention.json", text=first)))
    reply = "how do I connect a guest to the wifi?"
    slack.fake.add_message("C0HELP001", "1700000300.000300", user=ALICE, text=reply, thread_ts="1700000100.000100")
    slack.deliver(json_event(event_body("message_thread_reply.json", text=reply)))

    answers = slack.answers("C0HELP001")
    assert len(answers) == 2 and answers[0]["text"] != answers[1]["text"]
    assert "Guest Wi-Fi access" in answers[1]["text"] and "Guest Wi-Fi access" not in answers[0]["text"]
