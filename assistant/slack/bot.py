"""The lazy worker: everything the app does after the 3-second ack (answers, commands, buttons, App Home).

Every job claims its dedupe key first and completes it at the end, so a redelivery answers only when the first
delivery never finished. Jobs never raise: failures are logged (no question text, no tokens) and, where a person
is waiting, told to them. Tickets are saved before anything is posted, so a failed post never loses one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assistant import messages
from assistant.exceptions import InvalidQuestion
from assistant.model import Turn
from assistant.slack import blocks as bk
from assistant.slack.api import Posted, SlackApi
from assistant.slack.events import (
    ChannelPolicy,
    answer_ref,
    bot_answered,
    clean_text,
    event_key,
    is_dm,
    is_thread_reply,
    mentions,
    thread_history,
)
from assistant.slack.store import EventLedger, FeedbackStore
from assistant.tickets.base import OPEN_STATUSES, Ticket, TicketStore

if TYPE_CHECKING:  # the answering pipeline (numpy, FAISS) is imported only by the worker, when first needed
    from assistant.model import SourceRef
    from assistant.service import Assistant, Requester


class TicketDesk(Protocol):
    """Opens tickets: saves first, then emails IT (`Assistant` is one; so is its ticket-only build)."""

    tickets: TicketStore | None

    def open_ticket(
        self,
        question: str,
        *,
        reason: str,
        draft_answer: str = "",
        sources: Sequence[SourceRef] = (),
        confidence: float | None = None,
        requester: Requester | None = None,
        idempotency_key: str = "",
    ) -> Ticket: ...


log = logging.getLogger("helpdesk.slack")

LEASE_SECONDS = 120.0  # an in-progress claim older than this belonged to a delivery that died (> worker timeout)
GROUP_CACHE_SECONDS = 300.0
USER_CACHE_SECONDS = 600.0


@dataclass(frozen=True)
class BotConfig:
    policy: ChannelPolicy = field(default_factory=ChannelPolicy)
    it_group: tuple[str, ...] = ()  # user ids (U…/W…) and/or user-group ids (S…)
    it_email: str = "it-support@example.com"
    lease_seconds: float = LEASE_SECONDS
    history_turns: int = 10


@dataclass
class Job:
    """What one lazy job did, for its single info log line."""

    kind: str
    outcome: str = "done"
    decision: str = ""
    ticket_id: str = ""


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
        self._assistant_factory = assistant
        self._desk_factory = desk
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        self._assistant: Assistant | None = None
        self._desk: TicketDesk | None = None
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._groups: dict[str, tuple[float, set[str]]] = {}
        self._me: dict[str, Any] | None = None

    # --- shared plumbing -----------------------------------------------------------------------------------
    def assistant(self) -> Assistant:
        with self._lock:
            if self._assistant is None:
                self._assistant = self._assistant_factory()
            return self._assistant

    def desk(self) -> TicketDesk:
        with self._lock:
            if self._desk is None:
                self._desk = self._desk_factory()
            return self._desk

    def tickets(self) -> TicketStore:
        store = self.desk().tickets
        if store is None:
            raise RuntimeError("no ticket store is configured")
        return store

    def open_ticket(
        self,
        question: str,
        *,
        reason: str,
        requester: Requester,
        key: str,
        draft_answer: str = "",
        sources: Sequence[SourceRef] = (),
        confidence: float | None = None,
    ) -> Ticket | None:
        """Save (idempotent on the Slack event/action key), then email IT; None, logged, when the store fails."""
        try:
            return self.desk().open_ticket(
                question,
                reason=reason,
                draft_answer=draft_answer,
                sources=sources,
                confidence=confidence,
                requester=requester,
                idempotency_key=f"slack:{key}",
            )
        except Exception as exc:
            log.error("ticket creation failed", extra={"error": exc.__class__.__name__, "reason": reason})
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

    def api(self, client: Any) -> SlackApi:
        return SlackApi(client, sleep=self.sleep)

    def run(self, kind: str, key: str | None, work: Callable[[Job], None]) -> Job:
        """Claim `key`, do the work, complete; one info line whatever happens. `key=None`: nothing to do (the
        outcome says why), logged without touching the ledger."""
        job = Job(kind)
        started = time.perf_counter()
        if key is None:
            work(job)
            self._log(job, started)
            return job
        try:
            claim = self.ledger.claim(key, lease_seconds=self.config.lease_seconds)
            if claim != "new":
                job.outcome = f"duplicate ({claim})"
            else:
                work(job)
                self.ledger.complete(key)
        except Exception as exc:  # a worker must never raise into Bolt; the lease lets a redelivery retry
            job.outcome = f"failed: {exc.__class__.__name__}"
            log.exception("slack job failed", extra={"job": kind})
        self._log(job, started)
        return job

    @staticmethod
    def _log(job: Job, started: float) -> None:
        extra = {
            "job": job.kind,
            "outcome": job.outcome,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if job.decision:
            extra["decision"] = job.decision
        if job.ticket_id:
            extra["ticket_id"] = job.ticket_id
        log.info("slack job", extra=extra)

    def _me_info(self, api: SlackApi, context: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """(bot user id, app id): from the request when it carried them, else one cached auth.test."""
        user = context.get("bot_user_id")
        if user:
            return str(user), None
        if self._me is None:
            self._me = api.whoami()
        return self._me.get("user_id"), self._me.get("app_id")

    def user_info(self, api: SlackApi, user_id: str) -> dict[str, Any]:
        now = self.clock()
        cached = self._users.get(user_id)
        if cached and cached[0] > now:
            return cached[1]
        info = api.user(user_id)
        if info:
            self._users[user_id] = (now + USER_CACHE_SECONDS, info)
        return info

    def requester(self, api: SlackApi, user_id: str, channel: str = "", thread_ts: str = "") -> Requester:
        from assistant.service import Requester

        info = self.user_info(api, user_id) if user_id else {}
        profile = info.get("profile") or {}
        name = profile.get("real_name") or info.get("real_name") or info.get("name") or ""
        link = api.permalink(channel, thread_ts) if channel and thread_ts else ""
        return Requester(
            user_id=user_id,
            name=str(name),
            email=str(profile.get("email") or ""),
            channel=channel,
            thread_ts=thread_ts,
            permalink=link,
        )

    def is_it(self, api: SlackApi, user_id: str) -> bool:
        now = self.clock()
        for member in self.config.it_group:
            if member == user_id:
                return True
            if member.startswith("S"):
                cached = self._groups.get(member)
                if not cached or cached[0] <= now:
                    cached = (now + GROUP_CACHE_SECONDS, set(api.group_members(member)))
                    self._groups[member] = cached
                if user_id in cached[1]:
                    return True
        return False

    # --- answering -----------------------------------------------------------------------------------------
    def _ask(self, api: SlackApi, key: str, question: str, history: list[Turn], where: Requester) -> dict[str, Any]:
        """Answer (or open a ticket); returns the answer record the buttons will need."""
        record: dict[str, Any] = {"question": question, "user": where.user_id, "channel": where.channel}
        record.update(thread_ts=where.thread_ts, answer="", draft_answer="", sources=[], decision="answer")
        try:
            assistant = self.assistant()
            result = assistant.ask(question, history=history, open_ticket=False)
        except InvalidQuestion as exc:
            record.update(answer=str(exc), decision="invalid")
            return record
        except Exception as exc:  # the answerer or the index failed: hand it to IT
            log.warning("answering failed", extra={"error": exc.__class__.__name__})
            who = self.requester(api, where.user_id, where.channel, where.thread_ts)
            ticket = self.open_ticket(question, reason="error", requester=who, key=key)
            text = (
                messages.TROUBLE_ANSWERING.format(ticket_id=ticket.ticket_id)
                if ticket
                else messages.SLACK_CANNOT_ANSWER_NOW.format(it_email=self.config.it_email)
            )
            record.update(answer=text, decision="ticket", ticket_id=ticket.ticket_id if ticket else None)
            return record
        record.update(
            answer=result.answer,
            draft_answer=result.draft_answer or result.answer,
            sources=[s.to_json() for s in result.sources],
            confidence=result.confidence,
            decision=result.decision,
        )
        if result.decision == "ticket":
            who = self.requester(api, where.user_id, where.channel, where.thread_ts)
            ticket = self.open_ticket(
                result.question or question,
                reason="low_confidence",
                requester=who,
                key=key,
                draft_answer=result.draft_answer,
                sources=result.sources,
                confidence=result.confidence,
            )
            if ticket is not None:
                record.update(
                    answer=messages.TICKET_OPENED.format(ticket_id=ticket.ticket_id), ticket_id=ticket.ticket_id
                )
        return record

    def answer_into(
        self,
        api: SlackApi,
        job: Job,
        *,
        key: str,
        question: str,
        user: str,
        channel: str,
        thread_ts: str | None,
        history: list[Turn],
        header: str = "",
    ) -> Posted | None:
        """Post "Looking into it…", answer, and update that message in place with the answer and its buttons."""
        looking = f"{header}\n{messages.SLACK_LOOKING}" if header else messages.SLACK_LOOKING
        placeholder = api.post(channel, looking, bk.text_message(looking)[1], thread_ts=thread_ts)
        if placeholder is None:
            job.outcome = f"cannot post: {api.last_error}"
            return None
        from assistant.service import Requester

        thread = thread_ts or placeholder.ts
        where = Requester(user_id=user, channel=placeholder.channel, thread_ts=thread)
        record = self._ask(api, key, question, history, where)
        ref = answer_ref(key)
        record.update(channel=placeholder.channel, thread_ts=thread, answer_ts=placeholder.ts)
        job.decision = str(record["decision"])
        job.ticket_id = str(record.get("ticket_id") or "")
        try:
            self.feedback.save_answer(ref, record)
        except Exception as exc:  # the answer still goes out; only its buttons will lack context
            log.warning("saving the answer record failed", extra={"error": exc.__class__.__name__})
        if record["decision"] == "invalid":
            text, blocks = bk.text_message(bk.escape(record["answer"]))
        else:
            text, blocks = bk.answer_message(
                record["answer"],
                record["sources"],
                ref=ref,
                decision=record["decision"],
                ticket_id=record.get("ticket_id"),
                header=header,
            )
        if not api.update(placeholder.channel, placeholder.ts, text, blocks):
            posted = api.post(placeholder.channel, text, blocks, thread_ts=thread_ts)
            if posted is None:
                job.outcome = f"answer not posted: {api.last_error}"
                return None
            return posted
        return placeholder

    # --- events --------------------------------------------------------------------------------------------
    def answer_mention(self, body: dict, context: Any, client: Any) -> None:
        event = body.get("event") or {}

        def work(job: Job) -> None:
            api = self.api(client)
            me, _ = self._me_info(api, context)
            channel = str(event.get("channel", ""))
            question = clean_text(str(event.get("text", "")), me)
            thread = str(event.get("thread_ts") or event.get("ts") or "")
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
        me, app_id = self._me_info(api, context)
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
            store = self.tickets()
            mine = [t for t in store.list(requester=user) if t.status in OPEN_STATUSES]
            if not self.api(client).publish_home(user, bk.home_view(mine)):
                job.outcome = "not published"

        self.run("home", _key(body), work)


def _key(body: Mapping[str, Any]) -> str:
    return event_key(body)
