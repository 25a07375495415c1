"""`/helpdesk <question>`, `ticket`, `status`, `help`, through `handler.lambda_handler`."""

from __future__ import annotations

import json

from fakes.slack_api import ALICE, BOB, IVY, iter_texts
from fakes.slack_requests import command_event

from assistant.tickets.base import Ticket


def _replies(fake, name="r1"):
    return [c.params for c in fake.calls("response_url") if c.params["name"] == name]


def test_help_is_answered_in_the_ack_itself(slack):
    response = slack.deliver(command_event("help"))

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["response_type"] == "ephemeral"
    assert "/helpdesk ticket" in body["text"] and "/helpdesk status" in body["text"]
    assert slack.runner.started == 0 and slack.fake.calls() == []


def test_empty_command_shows_help(slack):
    response = slack.deliver(command_event(""))
    assert "/helpdesk ticket" in json.loads(response["body"])["text"]


def test_question_is_answered_in_the_channel_with_buttons(slack):
    response = slack.deliver(command_event("how do I connect to the VPN?"))

    assert response["statusCode"] == 200 and response["body"] == ""
    [answer] = slack.answers("C0HELP001")
    text = "\n".join(iter_texts(answer["blocks"]))
    assert f"<@{ALICE}> asked: how do I connect to the VPN?" in text
    assert "Install GlobalProtect" in text and "GlobalProtect FAQ" in text
    assert slack.assistant.asked == [("how do I connect to the VPN?", [])]


def test_question_containing_the_word_payload_is_not_dropped(slack):
    """Bolt parsed any form body containing "payload" as interactivity and dropped the command."""
    slack.deliver(command_event("what is the payload limit for uploads?"))
    assert slack.assistant.asked == [("what is the payload limit for uploads?", [])]


def test_question_where_the_bot_cannot_post_goes_to_the_dm(slack):
    slack.fake.fail("chat.postMessage", "not_in_channel", channel="C0PRIVATE")
    slack.deliver(
        command_event("how do I connect to the VPN?", channel="C0PRIVATE", response_url=slack.fake.response_url())
    )

    assert slack.answers("C0PRIVATE") == []
    assert len(slack.answers("D0ALICE01")) == 1
    [note] = _replies(slack.fake)
    assert "direct messages" in note["text"]


def test_ticket_subcommand_opens_a_ticket_and_confirms_in_the_dm(slack):
    slack.deliver(command_event("ticket my laptop will not boot", response_url=slack.fake.response_url()))

    [ticket] = slack.tickets.list()
    assert ticket.question == "my laptop will not boot"
    assert ticket.reason == "user_requested"
    assert ticket.requester_id == ALICE and ticket.requester_email == "alice@example.com"
    assert ticket.requester_name == "Alice Example"
    assert ticket.idempotency_key.startswith("slack:command:")
    assert ticket.email_status == "sent" and list(slack.outbox.glob("*.eml"))
    [dm] = slack.answers("D0ALICE01")
    assert ticket.ticket_id in dm["text"]
    assert ticket.channel == "D0ALICE01" and ticket.thread_ts == dm["ts"]  # where "Mark resolved" will notify
    assert ticket.permalink == f"https://acme.slack.com/archives/D0ALICE01/p{dm['ts'].replace('.', '')}"
    assert ticket.ticket_id in _replies(slack.fake)[0]["text"]


def test_ticket_subcommand_without_text_explains_usage(slack):
    slack.deliver(command_event("ticket", response_url=slack.fake.response_url()))
    assert slack.tickets.list() == []
    assert "/helpdesk ticket" in _replies(slack.fake)[0]["text"]


def test_ticket_for_a_user_without_email_still_opens(slack):
    slack.deliver(command_event("ticket printer jam", user=BOB, response_url=slack.fake.response_url()))
    [ticket] = slack.tickets.list()
    assert ticket.requester_id == BOB and ticket.requester_email == ""


def test_status_lists_my_open_tickets_with_resolve_buttons(slack):
    mine = slack.tickets.create(Ticket(ticket_id="", question="VPN drops hourly", requester_id=ALICE))
    slack.tickets.create(Ticket(ticket_id="", question="Not mine", requester_id=BOB))
    closed = slack.tickets.create(Ticket(ticket_id="", question="Solved already", requester_id=ALICE))
    slack.tickets.update(closed.ticket_id, status="resolved")

    slack.deliver(command_event("status", response_url=slack.fake.response_url()))

    [reply] = _replies(slack.fake)
    assert reply["response_type"] == "ephemeral"
    text = "\n".join(iter_texts(reply["blocks"]))
    assert mine.ticket_id in text and "VPN drops hourly" in text
    assert "Not mine" not in text and "Solved already" not in text
    buttons = [b["accessory"] for b in reply["blocks"] if "accessory" in b]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("helpdesk_resolve", mine.ticket_id)]


def test_status_with_no_tickets_says_so(slack):
    slack.deliver(command_event("status", response_url=slack.fake.response_url()))
    assert "no open tickets" in _replies(slack.fake)[0]["text"]


def test_status_of_one_ticket(slack):
    t = slack.tickets.create(Ticket(ticket_id="", question="Monitor flickers", requester_id=ALICE))
    slack.deliver(command_event(f"status {t.ticket_id.lower()}", response_url=slack.fake.response_url()))
    text = "\n".join(iter_texts(_replies(slack.fake)[0]["blocks"]))
    assert t.ticket_id in text and "Monitor flickers" in text and "open" in text


def test_status_of_someone_elses_ticket_is_not_shown_except_to_it(slack):
    t = slack.tickets.create(Ticket(ticket_id="", question="Private matter", requester_id=ALICE))
    slack.deliver(command_event(f"status {t.ticket_id}", user=BOB, response_url=slack.fake.response_url("bob")))
    slack.deliver(command_event(f"status {t.ticket_id}", user=IVY, response_url=slack.fake.response_url("ivy")))

    assert "Private matter" not in json.dumps(_replies(slack.fake, "bob"))
    assert "no ticket" in _replies(slack.fake, "bob")[0]["text"]
    assert "Private matter" in json.dumps(_replies(slack.fake, "ivy"))


def test_status_of_unknown_ticket(slack):
    slack.deliver(command_event("status IT-NOPE0000", response_url=slack.fake.response_url()))
    assert "no ticket IT-NOPE0000" in _replies(slack.fake)[0]["text"]
