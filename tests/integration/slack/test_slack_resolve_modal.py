"""IT's "Mark resolved": a modal (views.open with the click's trigger_id) with a note and "suggest a
knowledge-base page"; its view_submission resolves the ticket with the note and, when ticked, makes the draft."""

from __future__ import annotations

import json

from fakes.aws import read_outbox
from fakes.confluence import ConfluenceFake
from fakes.slack_api import ALICE, BOB, IVY
from fakes.slack_requests import action_body, action_event, command_event, submit_resolve_modal

from assistant import messages
from assistant.drafts import ConfluenceDrafts
from assistant.slack import blocks
from assistant.tickets.base import Ticket


def _click(slack, user=IVY):
    t = slack.tickets.create(
        Ticket(
            "",
            "Outlook keeps asking for my password",
            requester_id=ALICE,
            requester_name="Alice",
            requester_email="alice@example.com",
            channel="C0HELP001",
            thread_ts="1700000100.000100",
            sources=[{"page_id": "3", "title": "Outlook", "url": "https://wiki.example.test/3", "score": 0.2}],
        )
    )
    _, blks = blocks.ticket_message(t)
    click = action_body("helpdesk_resolve", t.ticket_id, user=user, message={"ts": "1700000555.1", "blocks": blks})
    slack.deliver(action_event(click))
    return t, click


def test_it_gets_a_modal_with_a_note_and_a_draft_box(slack):
    t, click = _click(slack)
    [opened] = slack.fake.calls("views.open")
    assert opened.params["trigger_id"] == click["trigger_id"]
    view = opened.params["view"] if isinstance(opened.params["view"], dict) else json.loads(opened.params["view"])
    assert view["callback_id"] == "helpdesk_resolve_modal" and t.ticket_id in view["private_metadata"]
    kinds = {b.get("block_id"): b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert kinds == {"helpdesk_note": "plain_text_input", "helpdesk_draft": "checkboxes"}
    assert slack.tickets.get(t.ticket_id).status == "open"  # nothing changes until it is submitted


def test_submitting_resolves_with_the_note_and_tells_the_requester(slack):
    t, _ = _click(slack)
    submit_resolve_modal(slack, IVY, note="Reset the Outlook profile")
    got = slack.tickets.get(t.ticket_id)
    assert got.status == "resolved" and got.resolution_note == "Reset the Outlook profile"
    assert [(h["status"], h["by"]) for h in got.history] == [("resolved", IVY)] and got.draft_url == ""
    notices = [m for m in slack.fake.bot_messages("C0HELP001") if "marked resolved" in m["text"]]
    assert len(notices) == 1 and notices[0]["thread_ts"] == "1700000100.000100"
    assert "Reset the Outlook profile" in notices[0]["text"]
    [mail] = [m for m in read_outbox(slack.outbox) if "Resolved" in m.subject]
    assert mail.to == ["alice@example.com"] and "Reset the Outlook profile" in mail.text


def test_ticking_the_box_creates_a_draft_page(slack):
    with ConfluenceFake() as wiki:
        slack.assistant.drafts = ConfluenceDrafts(wiki.url, "KBDRAFT", user=wiki.user, token=wiki.token)
        t, _ = _click(slack)
        submit_resolve_modal(slack, IVY, note="Reset the Outlook profile", draft=True)
        [created] = wiki.created
    assert created["status"] == "draft" and created["space"] == {"key": "KBDRAFT"}
    assert "Reset the Outlook profile" in created["body"]["storage"]["value"]
    got = slack.tickets.get(t.ticket_id)
    assert got.draft_url.endswith("/spaces/KBDRAFT/pages/edit-v2/900001")
    told = [c.params["text"] for c in slack.fake.calls("chat.postEphemeral") if c.params["user"] == IVY]
    assert any("Draft page for" in text for text in told)


def test_a_refused_draft_still_resolves_and_says_why(slack):
    with ConfluenceFake() as wiki:
        slack.assistant.drafts = ConfluenceDrafts(wiki.url, "KBDRAFT", user=wiki.user, token=wiki.token)
        wiki.fail(403)
        t, _ = _click(slack)
        submit_resolve_modal(slack, IVY, note="Fixed", draft=True)
    got = slack.tickets.get(t.ticket_id)
    assert got.status == "resolved" and "HTTP 403" in got.draft_error
    told = [c.params["text"] for c in slack.fake.calls("chat.postEphemeral") if c.params["user"] == IVY]
    assert any("is resolved, but no draft page" in text and "HTTP 403" in text for text in told)


def test_a_submission_from_outside_the_it_group_changes_nothing(slack):
    t, _ = _click(slack)
    submit_resolve_modal(slack, BOB, note="sneaky")
    got = slack.tickets.get(t.ticket_id)
    assert got.status == "open" and got.resolution_note == ""
    denied = [c for c in slack.fake.calls("chat.postEphemeral") if c.params["user"] == BOB]
    assert len(denied) == 1 and messages.SLACK_RESOLVE_DENIED.format(ticket_id=t.ticket_id) in denied[0].params["text"]


def test_the_requester_still_resolves_their_own_ticket_without_a_modal(slack):
    t, _ = _click(slack, user=ALICE)
    assert slack.fake.calls("views.open") == []
    got = slack.tickets.get(t.ticket_id)
    assert got.status == "resolved" and got.history[0]["by"] == ALICE


def _replies(slack):
    return [c.params["text"] for c in slack.fake.calls("response_url")]


def test_it_moves_tickets_with_slash_commands_and_others_may_not(slack):
    t, _ = _click(slack, user=ALICE)  # the requester resolved it
    url = slack.fake.response_url()
    slack.deliver(command_event(f"close {t.ticket_id}", user=BOB, response_url=url))
    assert slack.tickets.get(t.ticket_id).status == "resolved" and "Only the IT team" in _replies(slack)[-1]
    for verb, status in (("reopen", "open"), ("start", "in_progress"), ("close", "closed")):
        slack.deliver(command_event(f"{verb} {t.ticket_id.lower()}", user=IVY, response_url=url))
        assert slack.tickets.get(t.ticket_id).status == status
    assert _replies(slack)[-1] == f"Ticket {t.ticket_id} is now closed."
    history = slack.tickets.get(t.ticket_id).history
    assert [(h["status"], h["by"]) for h in history] == [
        ("resolved", ALICE),
        ("open", IVY),
        ("in_progress", IVY),
        ("closed", IVY),
    ]
    slack.deliver(command_event(f"start {t.ticket_id}", user=IVY, response_url=url))
    assert _replies(slack)[-1] == f"{t.ticket_id} is closed; it cannot become in_progress"
