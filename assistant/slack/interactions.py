"""The lazy halves of `/helpdesk` and of the buttons (the ack halves are in `app`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from assistant import messages
from assistant.exceptions import InvalidTransition, TicketNotFound
from assistant.slack import blocks as bk
from assistant.slack import home
from assistant.slack.bot import HelpdeskBot
from assistant.slack.events import action_key, command_key, parse_command
from assistant.slack.jobs import Job
from assistant.tickets.base import TicketStatus
from assistant.tickets.desk import TicketRequest
from assistant.tickets.status import ACTIONS, Transition
from assistant.tickets.status import resolve as resolve_ticket
from assistant.tickets.workflow import move

log = logging.getLogger("helpdesk.slack")

CHANNEL_ERRORS = ("channel_not_found", "not_in_channel", "is_archived", "restricted_action")


def _respond(respond: Callable[..., Any] | None, text: str, blocks: list[dict] | None = None) -> None:
    """An ephemeral reply through the command's or action's response_url; failures are logged, never raised."""
    if respond is None:
        return
    try:
        respond(text=text, blocks=blocks or bk.text_message(text)[1], response_type="ephemeral", replace_original=False)
    except Exception as exc:
        log.warning("response_url reply failed", extra={"error": exc.__class__.__name__})


# --- /helpdesk ---------------------------------------------------------------------------------------------------
def run_command(bot: HelpdeskBot, body: Mapping[str, Any], client: Any, respond: Callable[..., Any] | None) -> Job:
    command = parse_command(str(body.get("text", "")))
    user = str(body.get("user_id", ""))
    channel = str(body.get("channel_id", ""))
    key = command_key(body)
    api = bot.api(client)

    def ask(job: Job) -> None:
        question = command.arg
        header = messages.SLACK_ASKED.format(user=user, question=bk.truncate(bk.escape(question), 500, "…"))
        common = {"key": key, "question": question, "user": user, "thread_ts": None, "history": [], "header": header}
        if bot.config.policy.allows(channel, mentioned=True):
            if bot.answer_into(api, job, channel=channel, **common) is not None:
                return
            if not job.outcome.startswith("cannot post") or api.last_error not in CHANNEL_ERRORS:
                return
        job.outcome = "done (in DM)"
        if bot.answer_into(api, job, channel=user, **common) is not None:
            _respond(respond, messages.SLACK_ANSWERED_IN_DM)

    def ticket(job: Job) -> None:
        if not command.arg:
            job.outcome = "no text"
            _respond(respond, messages.SLACK_TICKET_NEEDS_TEXT)
            return
        if (reason := bot.refusal(api, body, {"user": user})) is not None:  # who may ask may open tickets
            job.outcome = f"refused: {reason}"
            _respond(respond, *bk.refusal_message(reason))
            return
        who = bot.requester(api, user, channel)  # where the command was typed: in the IT email
        opened = bot.open_ticket(TicketRequest(command.arg, "user_requested", who), key=key)
        if opened is None:
            _respond(respond, messages.SLACK_TICKET_FAILED.format(it_email=bot.config.it_email))
            job.outcome = "ticket failed"
            return
        job.ticket_id = opened.ticket_id
        intro = messages.TICKET_OPENED_ON_REQUEST.format(ticket_id=opened.ticket_id)
        posted = api.post(user, *bk.ticket_message(opened, intro))  # the requester's DM with the app
        if posted is not None:
            bot.attach_thread(opened.ticket_id, posted.channel, posted.ts, api)
        _respond(respond, messages.SLACK_TICKET_SENT_TO_DM.format(ticket_id=opened.ticket_id))

    def status(job: Job) -> None:
        store = bot.tickets()
        if command.arg:
            ticket_id = command.arg.split()[0]  # the stores try it as typed, then upper-cased (older ids)
            try:
                found = store.get(ticket_id)
            except TicketNotFound:
                found = None
            if found is None or (found.requester_id != user and not bot.is_it(api, user)):
                _respond(respond, messages.SLACK_TICKET_NOT_FOUND.format(ticket_id=bk.escape(ticket_id)))
                job.outcome = "not found"
                return
            _respond(respond, *bk.ticket_message(found))
            return
        _respond(respond, *bk.tickets_message(home.open_tickets(store, user)))

    def workflow(job: Job) -> None:  # /helpdesk start|close|reopen IT-…: the IT group only
        ticket_id = command.arg.split()[0]
        job.ticket_id = ticket_id
        if not bot.is_it(api, user):
            job.outcome = "denied"
            _respond(respond, f"Only the IT team can {command.name} tickets.")
            return
        try:
            outcome = move(bot.desk(), ticket_id, ACTIONS[command.name], by=user)
        except (TicketNotFound, InvalidTransition) as exc:
            job.outcome = exc.__class__.__name__
            _respond(respond, bk.escape(str(exc)))
            return
        t = outcome.ticket
        state = t.status.replace("_", " ")
        _respond(
            respond,
            f"Ticket {t.ticket_id} is now {state}."
            if outcome.changed
            else f"Ticket {t.ticket_id} was already {state}.",
        )

    works = {"ask": ask, "ticket": ticket, "status": status, "start": workflow, "close": workflow, "reopen": workflow}
    work = works.get(command.name)
    if work is None:  # help is answered in the ack itself
        return Job("command_help", "done")
    return bot.run(f"command_{command.name}", key, work)


# --- buttons -----------------------------------------------------------------------------------------------------
def _action(body: Mapping[str, Any]) -> tuple[dict[str, Any], str, str, str, str]:
    """(action, user, channel, clicked message ts, thread ts of that message)."""
    action = dict((body.get("actions") or [{}])[0])
    user = str((body.get("user") or {}).get("id", ""))
    container = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    message = body.get("message") or {}
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    return action, user, channel, message_ts, str(message.get("thread_ts") or message_ts)


def on_feedback(bot: HelpdeskBot, body: Mapping[str, Any], client: Any) -> Job:
    action, user, channel, _, thread = _action(body)
    vote = "helpful" if action.get("action_id") == bk.ACTION_HELPFUL else "not_helpful"
    ref = str(action.get("value", ""))

    def work(job: Job) -> None:
        bot.feedback.record_vote(ref, user, vote)
        job.decision = vote
        api = bot.api(client)
        if vote == "helpful":
            api.ephemeral(channel, user, messages.SLACK_FEEDBACK_THANKS, thread_ts=thread)
            return
        offer = [
            bk.section(messages.SLACK_FEEDBACK_SORRY),
            {
                "type": "actions",
                "block_id": bk.ANSWER_ACTIONS_BLOCK,
                "elements": [bk.button(messages.SLACK_BUTTON_OPEN_TICKET, bk.ACTION_OPEN_TICKET_NOT_HELPFUL, ref)],
            },
        ]
        api.ephemeral(channel, user, messages.SLACK_FEEDBACK_SORRY, offer, thread_ts=thread)

    return bot.run("feedback", action_key(body), work)


def on_open_ticket(bot: HelpdeskBot, body: Mapping[str, Any], client: Any) -> Job:
    """ "Open a ticket" under an answer: the question, the bot's answer and its sources, confirmed in the thread."""
    action, user, channel, _, thread = _action(body)
    reason = "not_helpful" if action.get("action_id") == bk.ACTION_OPEN_TICKET_NOT_HELPFUL else "user_requested"
    ref = str(action.get("value", ""))
    key = f"ticket:{ref}:{user}"  # one ticket per answer and person, however often they click

    def work(job: Job) -> None:
        api = bot.api(client)
        clicker = body.get("user") or {}
        home = {"team_id": (body.get("team") or {}).get("id", "")}
        if (refusal := bot.refusal(api, home, {"user": user, "user_team": clicker.get("team_id", "")})) is not None:
            job.outcome = f"refused: {refusal}"
            api.ephemeral(channel, user, *bk.refusal_message(refusal), thread_ts=thread)
            return
        record = bot.feedback.get_answer(ref)
        if not record:
            job.outcome = "answer gone"
            api.ephemeral(channel, user, messages.SLACK_TICKET_ANSWER_GONE, thread_ts=thread)
            return
        where_channel = record.channel or channel
        where_thread = record.thread_ts or thread
        who = bot.requester(api, user, where_channel, where_thread)
        request = TicketRequest(
            record.question,
            reason,
            who,
            draft_answer=record.ticket_draft(),
            sources=record.source_refs(),
            confidence=record.confidence,
        )
        opened = bot.open_ticket(request, key=key)
        if opened is None:
            job.outcome = "ticket failed"
            api.ephemeral(channel, user, messages.SLACK_TICKET_FAILED.format(it_email=bot.config.it_email))
            return
        job.ticket_id = opened.ticket_id
        intro = messages.TICKET_OPENED_ON_REQUEST.format(ticket_id=opened.ticket_id)
        if api.post(where_channel, *bk.ticket_message(opened, intro), thread_ts=where_thread) is None:
            job.outcome = f"ticket saved, confirmation not posted: {api.last_error}"

    return bot.run(f"open_ticket_{reason}", key, work)


def on_resolve(bot: HelpdeskBot, body: Mapping[str, Any], client: Any) -> Job:
    """ "Mark resolved": only the requester or the IT group; updates the ticket and tells the requester."""
    action, user, channel, message_ts, thread = _action(body)
    ticket_id = str(action.get("value", ""))
    container = body.get("container") or {}

    def work(job: Job) -> None:
        api = bot.api(client)
        store = bot.tickets()
        job.ticket_id = ticket_id
        try:
            ticket = store.get(ticket_id)
        except TicketNotFound:
            job.outcome = "not found"
            if channel:
                api.ephemeral(channel, user, messages.SLACK_TICKET_NOT_FOUND.format(ticket_id=bk.escape(ticket_id)))
            return
        it = bot.is_it(api, user)
        if user != ticket.requester_id and not it:
            job.outcome = "denied"
            if channel:
                api.ephemeral(
                    channel, user, messages.SLACK_RESOLVE_DENIED.format(ticket_id=ticket_id), thread_ts=thread
                )
            return
        if it and body.get("trigger_id") and _open_resolve_modal(client, body, ticket_id, channel, message_ts, thread):
            job.outcome = "modal opened"  # the view_submission resolves it (on_resolve_submission)
            return
        try:  # one conditional update: of two concurrent clicks, exactly one changes the ticket and notifies
            changed = resolve_ticket(store, ticket_id, by=user)
        except InvalidTransition:  # closed tickets stay closed
            changed = Transition(ticket, False)
        if not changed.changed:
            ticket = changed.ticket
            job.outcome = f"already {ticket.status}"
            if channel:
                text = messages.SLACK_ALREADY_RESOLVED.format(ticket_id=ticket_id, status=ticket.status)
                api.ephemeral(channel, user, text, thread_ts=thread)
        else:
            ticket = changed.ticket
            notice = messages.SLACK_RESOLVED_NOTICE.format(
                requester=bk.person(ticket.requester_id, ticket.requester_name), ticket_id=ticket_id, user=user
            )
            target, target_thread = (ticket.channel, ticket.thread_ts) if ticket.channel else (channel, thread)
            told = bool(target) and api.post(target, *bk.text_message(notice), thread_ts=target_thread or None)
            if not told and ticket.requester_id:
                api.post(ticket.requester_id, *bk.text_message(notice))  # at least tell them directly
        original = (body.get("message") or {}).get("blocks")
        if container.get("type") == "message" and not container.get("is_ephemeral") and original and message_ts:
            text = messages.SLACK_RESOLVED_FALLBACK.format(ticket_id=ticket_id)
            api.update(channel, message_ts, text, bk.resolved_blocks(original, user))
        if container.get("type") == "view":  # clicked in App Home: show the list without it
            home.publish_home(api, store, user)

    return bot.run("resolve", action_key(body), work)


# --- the "Mark resolved" modal (IT) ---------------------------------------------------------------------------
def _open_resolve_modal(
    client: Any, body: Mapping[str, Any], ticket_id: str, channel: str, message_ts: str, thread: str
) -> bool:
    """views.open with the click's trigger_id (valid for 3 seconds); False when Slack refused it."""
    container = body.get("container") or {}
    metadata = json.dumps(
        {"t": ticket_id, "c": channel, "m": message_ts, "th": thread, "v": container.get("type") == "view"}
    )
    try:
        client.views_open(trigger_id=str(body["trigger_id"]), view=bk.resolve_modal(ticket_id, metadata))
    except Exception as exc:
        log.warning("views.open failed; resolving without a note", extra={"error": exc.__class__.__name__})
        return False
    return True


def on_resolve_submission(bot: HelpdeskBot, body: Mapping[str, Any], client: Any) -> Job:
    """The modal's view_submission: resolve with the note (emailed to the requester), then the draft if asked."""
    view = body.get("view") or {}
    user = str((body.get("user") or {}).get("id", ""))
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        meta = {}
    ticket_id, channel, thread = str(meta.get("t", "")), str(meta.get("c", "")), str(meta.get("th", ""))
    note, draft = bk.modal_values(view)

    def tell(api: Any, text: str) -> None:
        if channel:
            api.ephemeral(channel, user, text, thread_ts=thread or None)
        else:
            api.post(user, *bk.text_message(text))

    def work(job: Job) -> None:
        api = bot.api(client)
        job.ticket_id = ticket_id
        if not bot.is_it(api, user):
            job.outcome = "denied"
            tell(api, messages.SLACK_RESOLVE_DENIED.format(ticket_id=ticket_id))
            return
        try:
            outcome = move(bot.desk(), ticket_id, TicketStatus.RESOLVED, by=user, note=note, draft=draft)
        except TicketNotFound:
            job.outcome = "not found"
            tell(api, messages.SLACK_TICKET_NOT_FOUND.format(ticket_id=bk.escape(ticket_id)))
            return
        except InvalidTransition as exc:
            job.outcome = "not allowed"
            tell(api, bk.escape(str(exc)))
            return
        ticket = outcome.ticket
        if outcome.changed:
            notice = messages.SLACK_RESOLVED_NOTICE.format(
                requester=bk.person(ticket.requester_id, ticket.requester_name), ticket_id=ticket_id, user=user
            )
            if note:
                notice += "\n>" + bk.escape(" ".join(note.split()))[:2000]
            target, target_thread = (ticket.channel, ticket.thread_ts) if ticket.channel else (channel, thread)
            told = bool(target) and api.post(target, *bk.text_message(notice), thread_ts=target_thread or None)
            if not told and ticket.requester_id:
                api.post(ticket.requester_id, *bk.text_message(notice))
        else:
            tell(api, messages.SLACK_ALREADY_RESOLVED.format(ticket_id=ticket_id, status=ticket.status))
        job.outcome = f"resolved, email {outcome.emailed or '-'}, draft {outcome.draft or '-'}"
        if outcome.draft in ("created", "exists"):
            tell(api, f"Draft page for {ticket_id}: <{bk.safe_url(ticket.draft_url)}|open the draft>")
        elif outcome.draft:
            tell(api, f"{ticket_id} is resolved, but no draft page: {bk.escape(outcome.draft.split(': ', 1)[-1])}")
        if meta.get("v"):
            home.publish_home(api, bot.tickets(), user)

    return bot.run("resolve_submission", f"view:{view.get('id', '')}:{user}", work)
