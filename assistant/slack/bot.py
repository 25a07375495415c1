"""The lazy worker: everything the app does after the 3-second ack (answers, commands, buttons, App Home).

`HelpdeskBot` holds the dependencies and composes the parts: `jobs` (the dedupe runner: every job claims its key
first and completes it at the end, so a redelivery answers only when the first delivery never finished), the
`directory` (Slack users and the IT group, cached), `answering` (the answering flow) and `home` (App Home). Jobs
never raise: failures are logged (no question text, no tokens) and, where a person is waiting, told to them.
Tickets are saved before anything is posted, so a failed post never loses one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from assistant import messages
from assistant.model import Turn
from assistant.slack import blocks as bk
from assistant.slack import home
from assistant.slack.answering import AnsweringFlow
from assistant.slack.api import SlackApi
from assistant.slack.directory import SlackDirectory
from assistant.slack.events import (
    ChannelPolicy,
    bot_answered,
    clean_text,
    event_key,
    is_dm,
    is_thread_reply,
    mentions,
    thread_history,
)
from assistant.slack.jobs import Job, JobRunner
from assistant.slack.store import EventLedger, FeedbackStore
from assistant.tickets.base import Ticket, TicketStore
from assistant.tickets.desk import Requester, TicketDesk, TicketRequest
from assistant.tickets.outage import OutageAlerts

if TYPE_CHECKING:  # the answering pipeline (numpy, FAISS) is imported only by the worker, when first needed
    from assistant.service import Assistant

log = logging.getLogger("helpdesk.slack")

# An in-progress claim older than this belonged to a delivery that died. It must exceed the worker's timeout (60 s
# by default), and stay close enough to it that a Lambda retry (a minute after a failure) waits out the rest of the
# lease within its own time (assistant/slack/jobs.py WAIT_POLLS).
LEASE_SECONDS = 90.0

T = TypeVar("T")


@dataclass(frozen=True)
class BotConfig:
    policy: ChannelPolicy = field(default_factory=ChannelPolicy)
    it_group: tuple[str, ...] = ()  # user ids (U…/W…) and/or user-group ids (S…)
    it_email: str = "it-support@example.com"
    lease_seconds: float = LEASE_SECONDS
    history_turns: int = 10
    allow_guests: bool = False  # HELPDESK_SLACK_ALLOW_GUESTS
    allow_external: bool = False  # HELPDESK_SLACK_ALLOW_EXTERNAL (people of other organisations, Slack Connect)


class _Once(Generic[T]):
    """A dependency built on first use, once, however many threads ask at the same time."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value


class HelpdeskBot:
    def __init__(
        self,
        config: BotConfig,
        *,
        ledger: EventLedger,
        feedback: FeedbackStore,
        assistant: Callable[[], Assistant],
        desk: Callable[[], TicketDesk],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.feedback = feedback
        self.sleep = sleep
        self.clock = clock
        self._assistant = _Once(assistant)
        self._desk = _Once(lambda: self._with_outage_alerts(desk()))
        self.jobs = JobRunner(ledger, lease_seconds=config.lease_seconds, sleep=lambda s: self.sleep(s))
        self.directory = SlackDirectory(config.it_group, clock=lambda: self.clock())
        self.answering = AnsweringFlow(
            assistant=self.assistant,
            open_ticket=lambda request, key: self.open_ticket(request, key=key),
            directory=self.directory,
            feedback=feedback,
            it_email=config.it_email,
            allow_guests=config.allow_guests,
            allow_external=config.allow_external,
        )
        self.answer_into = self.answering.answer_into  # the events and interactions answer through the bot

    # --- dependencies --------------------------------------------------------------------------------------
    def assistant(self) -> Assistant:
        return self._assistant.get()

    def desk(self) -> TicketDesk:
        return self._desk.get()

    def _with_outage_alerts(self, desk: TicketDesk) -> TicketDesk:
        """During a model outage IT gets one alert, not one email per question: the dedupe ledger is the gate
        that lets exactly one worker send it (unless the desk came with its own)."""
        if desk.outage is None:
            desk.outage = OutageAlerts(self.ledger)
        return desk

    def tickets(self) -> TicketStore:
        return self.desk().tickets

    def api(self, client: Any) -> SlackApi:
        return SlackApi(client, sleep=self.sleep)

    def run(self, kind: str, key: str | None, work: Callable[[Job], None]) -> Job:
        return self.jobs.run(kind, key, work)

    # --- tickets -------------------------------------------------------------------------------------------
    def open_ticket(self, request: TicketRequest, *, key: str) -> Ticket | None:
        """Save (idempotent on the Slack event/action key), then email IT; None, logged, when the store fails."""
        try:
            return self.desk().open_ticket(request, idempotency_key=f"slack:{key}")
        except Exception as exc:
            log.error("ticket creation failed", extra={"error": exc.__class__.__name__, "reason": request.reason})
            return None

    def attach_thread(self, ticket_id: str, channel: str, thread_ts: str, api: SlackApi | None = None) -> None:
        """Remember where a ticket was confirmed (and its link), so "Mark resolved" can notify the requester there."""
        link = api.permalink(channel, thread_ts) if api is not None else ""
        try:
            self.tickets().update(
                ticket_id, channel=channel, thread_ts=thread_ts, **({"permalink": link} if link else {})
            )
        except Exception as exc:
            log.warning("could not record the ticket's thread", extra={"error": exc.__class__.__name__})

    # --- people --------------------------------------------------------------------------------------------
    def user_info(self, api: SlackApi, user_id: str) -> dict[str, Any]:
        return self.directory.user_info(api, user_id)

    def requester(self, api: SlackApi, user_id: str, channel: str = "", thread_ts: str = "") -> Requester:
        return self.directory.requester(api, user_id, channel, thread_ts)

    def is_it(self, api: SlackApi, user_id: str) -> bool:
        return self.directory.is_it(api, user_id)

    def refusal(self, api: SlackApi, body: Mapping[str, Any], event: Mapping[str, Any]) -> str | None:
        """ "external" or "guest" when the sender may not ask (see SlackDirectory.refusal), else None."""
        return self.directory.refusal(
            api, body, event, allow_guests=self.config.allow_guests, allow_external=self.config.allow_external
        )

    def refused(self, api: SlackApi, job: Job, body: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
        """Tell someone who may not ask, politely (only them, in a channel), before any retrieval or ticket."""
        reason = self.refusal(api, body, event)
        if reason is None:
            return False
        channel, user = str(event.get("channel", "")), str(event.get("user", ""))
        thread = str(event.get("thread_ts") or ("" if is_dm(event) else event.get("ts")) or "") or None
        self.answering.refuse(api, job, reason, user=user, channel=channel, thread_ts=thread)
        return True

    # --- events --------------------------------------------------------------------------------------------
    def answer_mention(self, body: dict, context: Any, client: Any) -> None:
        event = body.get("event") or {}

        def work(job: Job) -> None:
            api = self.api(client)
            me, _ = self.directory.me(api, context)
            channel = str(event.get("channel", ""))
            question = clean_text(str(event.get("text", "")), me)
            thread = str(event.get("thread_ts") or event.get("ts") or "")
            if self.refused(api, job, body, event):
                return
            if not question:
                api.post(channel, *bk.text_message(messages.SLACK_EMPTY_MENTION), thread_ts=thread)
                job.outcome = "empty"
                return
            history = self._history(api, body, event, me) if is_thread_reply(event) else []
            self.answer_into(
                api, job, key=_key(body), question=question, user=str(event.get("user", "")), channel=channel,
                thread_ts=thread, history=history,
            )  # fmt: skip

        self.run("mention", _key(body), work)

    def answer_message(self, body: dict, context: Any, client: Any) -> None:
        """A direct message, or a reply without a mention in a thread where the bot has already answered."""
        event = body.get("event") or {}
        api = self.api(client)
        me, app_id = self.directory.me(api, context)
        app_id = app_id or body.get("api_app_id")
        channel = str(event.get("channel", ""))
        history: list[Turn] = []
        if is_thread_reply(event):
            replies = api.replies(channel, str(event["thread_ts"]))
            if not is_dm(event) and (mentions(str(event.get("text", "")), me) or not bot_answered(replies, me, app_id)):
                # not our thread (or a mention, answered as app_mention): no claim, just the log line
                ignored = "ignored: a mention, or not the bot's thread"
                self.run("follow_up", None, lambda job: setattr(job, "outcome", ignored))
                return
            history = thread_history(
                replies, current_ts=str(event.get("ts")), bot_user_id=me, app_id=app_id, limit=self.config.history_turns
            )

        def work(job: Job) -> None:
            question = clean_text(str(event.get("text", "")), me)
            if not question:
                job.outcome = "empty"
                return
            if self.refused(api, job, body, event):
                return
            self.answer_into(
                api, job, key=_key(body), question=question, user=str(event.get("user", "")), channel=channel,
                thread_ts=event.get("thread_ts"), history=history,
            )  # fmt: skip

        self.run("dm" if is_dm(event) else "follow_up", _key(body), work)

    def _history(self, api: SlackApi, body: Mapping, event: Mapping, me: str | None) -> list[Turn]:
        replies = api.replies(str(event.get("channel", "")), str(event.get("thread_ts")))
        return thread_history(
            replies,
            current_ts=str(event.get("ts")),
            bot_user_id=me,
            app_id=body.get("api_app_id"),
            limit=self.config.history_turns,
        )

    def publish_home(self, body: dict, client: Any) -> None:
        event = body.get("event") or {}
        user = str(event.get("user", ""))

        def work(job: Job) -> None:
            if not home.publish_home(self.api(client), self.tickets(), user):
                job.outcome = "not published"

        self.run("home", _key(body), work)


def _key(body: Mapping[str, Any]) -> str:
    return event_key(body)
