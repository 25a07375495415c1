"""The buttons: 👍/👎 feedback, "Open a ticket" (user_requested / not_helpful) and "Mark resolved"."""

from __future__ import annotations

from fakes.slack_api import ALICE, BOB, IVY, iter_texts
from fakes.slack_requests import action_body, action_event, event_body, json_event, submit_resolve_modal

from assistant.tickets.base import Ticket


def _answer(slack):
    """Ask by mention; return the posted answer message and its button value (the answer's reference)."""
    slack.deliver(json_event(event_body("app_mention.json")))
    [answer] = slack.answers("C0HELP001")
    actions = next(b for b in answer["blocks"] if b["type"] == "actions")
    return answer, actions["elements"][0]["value"]


def test_helpful_and_not_helpful_are_stored_and_counted(slack):
    answer, ref = _answer(slack)

    slack.deliver(action_event(action_body("helpdesk_helpful", ref, user=ALICE, message=answer)))
    slack.deliver(action_event(action_body("helpdesk_not_helpful", ref, user=BOB, message=answer)))
    slack.deliver(action_event(action_body("helpdesk_helpful", ref, user=IVY, message=answer)))

    assert slack.state.counts(ref) == {"helpful": 2, "not_helpful": 1}
    assert slack.state.counts() == {"helpful": 2, "not_helpful": 1}
    ephemerals = slack.fake.calls("chat.postEphemeral")
    assert [e.params["user"] for e in ephemerals] == [ALICE, BOB, IVY]
    assert all(e.params["thread_ts"] == "1700000100.000100" for e in ephemerals)  # in the answer's thread
    offer = next(e for e in ephemerals if e.params["user"] == BOB)
    [button] = [el for b in offer.params["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert button["action_id"] == "helpdesk_open_ticket_nh" and button["value"] == ref


def test_changing_a_vote_replaces_it(slack):
    answer, ref = _answer(slack)
    slack.deliver(action_event(action_body("helpdesk_helpful", ref, message=answer)))
    slack.deliver(action_event(action_body("helpdesk_not_helpful", ref, message=answer)))
    assert slack.state.counts(ref) == {"helpful": 0, "not_helpful": 1}


def test_open_a_ticket_is_prefilled_and_confirmed_in_the_thread(slack):
    answer, ref = _answer(slack)

    slack.deliver(action_event(action_body("helpdesk_open_ticket", ref, user=ALICE, message=answer)))

    [ticket] = slack.tickets.list()
    assert ticket.reason == "user_requested"
    assert ticket.question == "how do I connect to the VPN?"
    assert ticket.draft_answer.startswith("Install GlobalProtect")
    assert [s["title"] for s in ticket.sources] == ["VPN setup & <troubleshooting>", "GlobalProtect FAQ"]
    assert ticket.requester_email == "alice@example.com"
    assert ticket.channel == "C0HELP001" and ticket.thread_ts == "1700000100.000100"
    assert ticket.permalink == "https://acme.slack.com/archives/C0HELP001/p1700000100000100"  # IT gets the link
    confirmations = [m for m in slack.fake.bot_messages("C0HELP001") if ticket.ticket_id in m["text"]]
    assert len(confirmations) == 1 and confirmations[0]["thread_ts"] == "1700000100.000100"
    resolve = [el["action_id"] for b in confirmations[0]["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert resolve == ["helpdesk_resolve"]


def test_open_a_ticket_twice_gives_one_ticket_and_one_confirmation(slack):
    answer, ref = _answer(slack)
    for _ in range(3):
        slack.deliver(action_event(action_body("helpdesk_open_ticket", ref, message=answer)))
    assert len(slack.tickets.list()) == 1
    assert len(slack.fake.bot_messages("C0HELP001")) == 2  # the answer and one confirmation


def test_not_helpful_then_open_a_ticket_records_the_reason(slack):
    answer, ref = _answer(slack)
    slack.deliver(action_event(action_body("helpdesk_not_helpful", ref, message=answer)))
    slack.deliver(action_event(action_body("helpdesk_open_ticket_nh", ref)))
    [ticket] = slack.tickets.list()
    assert ticket.reason == "not_helpful" and ticket.draft_answer.startswith("Install GlobalProtect")


def test_open_a_ticket_for_a_forgotten_answer_says_so(slack):
    slack.deliver(action_event(action_body("helpdesk_open_ticket", "0" * 24)))
    assert slack.tickets.list() == []
    [note] = slack.fake.calls("chat.postEphemeral")
    assert "no longer have the answer" in note.params["text"]


def _ticket_message(slack, requester=ALICE):
    t = slack.tickets.create(
        Ticket(ticket_id="", question="Screen flickers", requester_id=requester, channel="C0HELP001", thread_ts="1.1")
    )
    from assistant.slack import blocks

    text, blks = blocks.ticket_message(t)
    return t, {"ts": "1700000555.000555", "text": text, "blocks": blks}


def test_requester_marks_resolved_and_is_notified_in_the_thread(slack):
    ticket, message = _ticket_message(slack)
    before = slack.tickets.get(ticket.ticket_id).updated_at

    slack.deliver(action_event(action_body("helpdesk_resolve", ticket.ticket_id, user=ALICE, message=message)))

    after = slack.tickets.get(ticket.ticket_id)
    assert after.status == "resolved" and after.updated_at >= before
    [notice] = [c.params for c in slack.fake.calls("chat.postMessage")]
    assert notice["channel"] == "C0HELP001" and notice["thread_ts"] == "1.1"
    assert f"<@{ALICE}> ticket *{ticket.ticket_id}* was marked resolved" in notice["text"]
    [update] = slack.fake.calls("chat.update")  # the clicked message loses its button
    assert update.params["ts"] == "1700000555.000555"
    assert not any(b.get("type") == "actions" for b in update.params["blocks"])
    assert "Resolved by" in "\n".join(iter_texts(update.params["blocks"]))


def test_it_group_member_may_resolve_anyones_ticket(slack):
    ticket, message = _ticket_message(slack, requester=BOB)
    slack.deliver(action_event(action_body("helpdesk_resolve", ticket.ticket_id, user=IVY, message=message)))
    assert slack.fake.calls("usergroups.users.list")[0].params["usergroup"] == "S0ITGROUP"
    submit_resolve_modal(slack, IVY)  # IT gets the modal; submitting it resolves
    assert slack.tickets.get(ticket.ticket_id).status == "resolved"


def test_it_user_ids_in_the_setting_may_resolve(make_slack):
    slack = make_slack(HELPDESK_IT_GROUP=f"U0SOMEONE,{BOB}")
    ticket, message = _ticket_message(slack, requester=ALICE)
    slack.deliver(action_event(action_body("helpdesk_resolve", ticket.ticket_id, user=BOB, message=message)))
    submit_resolve_modal(slack, BOB)
    assert slack.tickets.get(ticket.ticket_id).status == "resolved"


def test_others_may_not_resolve(slack):
    ticket, message = _ticket_message(slack, requester=ALICE)
    slack.deliver(action_event(action_body("helpdesk_resolve", ticket.ticket_id, user=BOB, message=message)))

    assert slack.tickets.get(ticket.ticket_id).status == "open"
    [denied] = slack.fake.calls("chat.postEphemeral")
    assert denied.params["user"] == BOB and "Only the person who asked or the IT team" in denied.params["text"]
    assert slack.fake.calls("chat.postMessage") == [] and slack.fake.calls("chat.update") == []


def test_resolving_twice_says_it_is_already_resolved(slack):
    ticket, message = _ticket_message(slack)
    slack.deliver(action_event(action_body("helpdesk_resolve", ticket.ticket_id, message=message)))
    slack.deliver(action_event(action_body("helpdesk_resolve", ticket.ticket_id, message=message)))
    assert len([c for c in slack.fake.calls("chat.postMessage") if "marked resolved" in c.params["text"]]) == 1
    assert "already resolved" in slack.fake.calls("chat.postEphemeral")[0].params["text"]


def test_resolve_from_app_home_republishes_it(slack):
    ticket, _ = _ticket_message(slack)
    slack.deliver(action_event(action_body("helpdesk_resolve", ticket.ticket_id, container_type="view")))
    assert slack.tickets.get(ticket.ticket_id).status == "resolved"
    [publish] = slack.fake.calls("views.publish")
    assert ticket.ticket_id not in str(publish.params["view"])


def test_low_confidence_answer_opens_a_ticket_with_a_resolve_button(slack):
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> something unsure about badges")))

    [ticket] = slack.tickets.list()
    assert ticket.reason == "low_confidence" and ticket.draft_answer == "A draft I am unsure of."
    assert ticket.requester_email == "alice@example.com"
    assert ticket.idempotency_key.startswith("slack:event:Ev")  # derived from the event: redeliveries reuse it
    assert ticket.permalink.startswith("https://acme.slack.com/archives/C0HELP001/p")
    to_it = [e.read_text() for e in slack.outbox.glob("*.eml") if "New IT helpdesk ticket" in e.read_text()]
    assert len(to_it) == 1 and ticket.permalink in to_it[0]  # the IT email links to the Slack thread
    [answer] = slack.answers("C0HELP001")
    assert ticket.ticket_id in answer["text"]
    text = "\n".join(iter_texts(answer["blocks"]))
    assert "Pages that might help:" in text
    assert [el["action_id"] for b in answer["blocks"] if b["type"] == "actions" for el in b["elements"]] == [
        "helpdesk_resolve"
    ]


def test_answerer_failure_hands_the_question_to_it(slack):
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> explode please")))
    [ticket] = slack.tickets.list()
    assert ticket.reason == "error"
    [answer] = slack.answers("C0HELP001")
    assert ticket.ticket_id in answer["text"] and "trouble answering" in answer["text"]
