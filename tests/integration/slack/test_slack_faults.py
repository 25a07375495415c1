"""Faults after the ack: whatever fails once "Looking into it…" is posted, the person gets an answer, a ticket or an
apology in that same message, and a worker that died is finished by its retry with one reply."""

from __future__ import annotations

import json
import time
from email import message_from_bytes
from typing import Any

import pytest
from fakes.assistant import FakeAssistant
from fakes.clock import FakeClock
from fakes.lambda_context import LambdaContext
from fakes.slack_api import iter_texts
from fakes.slack_requests import event_body, json_event

from assistant import messages
from assistant.exceptions import TicketError
from assistant.model import AskResult, Decision
from helpdesk import slack_lambda as aws
from helpdesk.settings import Settings
from helpdesk.slack_runtime import build_runtime


class WorkerDied(BaseException):
    """The process ending mid-answer (a timeout, out of memory): nothing after it runs, not even `except Exception`."""


class DiesOnce(FakeAssistant):
    """Dies the first time it is asked, after the placeholder is up; answers normally afterwards."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deaths = 0

    def ask(self, question: str, **kwargs: Any):  # type: ignore[override]
        if self.deaths == 0:
            self.deaths += 1
            raise WorkerDied()
        return super().ask(question, **kwargs)


class BrokenTickets(FakeAssistant):
    """Answers like FakeAssistant, but its ticket store is down."""

    def open_ticket(self, request: Any, *, idempotency_key: str = "") -> Any:
        raise TicketError("ticket store unavailable")


def _texts(message: dict[str, Any]) -> str:
    return " ".join(iter_texts(message["blocks"]))


def _with_clock(slack: Any) -> FakeClock:
    clock = FakeClock(start=1_800_000_000.0)
    slack.state.clock = clock
    slack.runtime.bot.sleep = clock.sleep  # the dedupe runner waits for a holder on this clock
    return clock


def test_worker_dies_after_the_ack_and_the_retry_finishes_it_with_one_reply(make_slack):
    slack = make_slack(DiesOnce)
    clock = _with_clock(slack)
    body = event_body("app_mention.json")

    slack.deliver(json_event(body))
    [looking] = slack.fake.bot_messages("C0HELP001")
    assert looking["text"] == messages.SLACK_LOOKING and not looking.get("edited")

    clock.advance(200)  # Lambda's retries come minutes later, after the lease
    slack.deliver(json_event(body, retry=1))

    [reply] = slack.fake.bot_messages("C0HELP001")
    assert reply["ts"] == looking["ts"] and reply.get("edited")
    assert "GlobalProtect" in _texts(reply)
    assert len(slack.fake.calls("chat.postMessage")) == 1


def test_a_retry_inside_the_lease_waits_for_it_and_takes_over(make_slack):
    """Lambda's first retry comes about a minute after the death, before the lease is out: it must not give up."""
    slack = make_slack(DiesOnce)
    clock = _with_clock(slack)
    body = event_body("app_mention.json")
    slack.deliver(json_event(body))

    clock.advance(62)
    slack.deliver(json_event(body, retry=1))

    [reply] = slack.fake.bot_messages("C0HELP001")
    assert "GlobalProtect" in _texts(reply)
    assert clock.sleeps and sum(clock.sleeps) <= 35


def test_a_retry_that_finds_the_first_delivery_finished_while_it_waited_posts_nothing(make_slack):
    slack = make_slack()
    clock = _with_clock(slack)
    body = event_body("app_mention.json")
    key = f"event:{body['event_id']}"
    assert slack.state.claim(key, lease_seconds=90) == "new"  # the first delivery is at work
    slack.runtime.bot.sleep = lambda s: (clock.sleep(s), slack.state.complete(key))  # and finishes meanwhile

    slack.deliver(json_event(body, retry=1))

    assert slack.fake.bot_messages("C0HELP001") == [] and slack.assistant.asked == []


def test_answerer_failure_turns_the_placeholder_into_an_apology_with_a_ticket(slack):
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> explode please")))

    [reply] = slack.fake.bot_messages("C0HELP001")
    [ticket] = slack.tickets.list()
    assert reply.get("edited") and ticket.reason == "error"
    assert messages.TROUBLE_ANSWERING.format(ticket_id=ticket.ticket_id) in _texts(reply)


def test_answerer_and_ticket_store_both_failing_leave_a_plain_apology(make_slack):
    slack = make_slack(BrokenTickets)
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> explode please")))

    [reply] = slack.fake.bot_messages("C0HELP001")
    assert reply.get("edited")
    assert messages.SLACK_CANNOT_ANSWER_NOW.format(it_email="it-support@example.com") in _texts(reply)


def test_low_confidence_with_the_ticket_store_down_says_no_ticket_was_opened(make_slack):
    slack = make_slack(BrokenTickets)
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> something unsure about badges")))

    [reply] = slack.fake.bot_messages("C0HELP001")
    assert messages.SLACK_TICKET_FAILED.format(it_email="it-support@example.com") in _texts(reply)
    assert messages.SLACK_LOOKING not in _texts(reply)


def test_a_bug_in_the_flow_after_the_placeholder_still_answers_with_an_apology(slack):
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("a bug")

    slack.runtime.bot.answering.ask = broken  # type: ignore[method-assign]
    slack.deliver(json_event(event_body("app_mention.json")))

    [reply] = slack.fake.bot_messages("C0HELP001")
    [ticket] = slack.tickets.list()
    assert messages.TROUBLE_ANSWERING.format(ticket_id=ticket.ticket_id) in _texts(reply)


class DiesAfterTheTicket(FakeAssistant):
    """Opens the ticket, then the process dies before the reply (the first time only)."""

    died = False

    def open_ticket(self, request: Any, *, idempotency_key: str = "") -> Any:
        ticket = super().open_ticket(request, idempotency_key=idempotency_key)
        if not self.died:
            self.died = True
            raise WorkerDied()
        return ticket


def test_a_worker_that_died_after_opening_the_ticket_is_finished_with_that_ticket(make_slack):
    """The first delivery gave up on the model (throttled past the budget), opened the ticket and died."""
    slack = make_slack(DiesAfterTheTicket)
    clock = _with_clock(slack)
    body = event_body("app_mention.json", text="<@U0BOT0001> explode please")
    slack.deliver(json_event(body))
    clock.advance(200)
    slack.deliver(json_event(body, retry=2))

    [ticket] = slack.tickets.list()
    [reply] = slack.fake.bot_messages("C0HELP001")
    assert messages.TROUBLE_ANSWERING.format(ticket_id=ticket.ticket_id) in _texts(reply)
    recipients = sorted(message_from_bytes(f.read_bytes())["To"] for f in slack.outbox.glob("*.eml"))
    assert recipients == ["alice@example.com", "it-support@example.com"]  # each emailed once


def test_a_model_outage_sends_it_one_alert_not_one_email_per_question(slack):
    for i in range(5):
        slack.send(json_event(event_body("app_mention.json", text=f"<@U0BOT0001> explode {i}", ts=f"17000001{i}.0001")))
    slack.drain()

    to = [message_from_bytes(f.read_bytes())["To"] for f in slack.outbox.glob("*.eml")]
    assert to.count("it-support@example.com") == 1
    assert to.count("alice@example.com") == 5  # every requester still gets their ticket
    assert len(slack.tickets.list()) == 5
    assert len(slack.answers("C0HELP001")) == 5


class ModelDown(FakeAssistant):
    """What the real assistant returns when Bedrock stays throttled past the budget: a ticket decision, no error."""

    def ask(self, question: str, **kwargs: Any) -> AskResult:
        return AskResult(
            messages.TROUBLE_ANSWERING_NO_TICKET, Decision.TICKET, 0.0, [], None, "", question, [], "error"
        )


def test_a_throttled_model_gives_an_outage_ticket_and_says_so(make_slack):
    slack = make_slack(ModelDown)
    slack.deliver(json_event(event_body("app_mention.json")))
    slack.deliver(json_event(event_body("app_mention.json", ts="1700000101.000100")))

    tickets = slack.tickets.list()
    assert [t.reason for t in tickets] == ["error", "error"]
    texts = [_texts(m) for m in slack.fake.bot_messages("C0HELP001")]
    assert all(messages.TROUBLE_ANSWERING.format(ticket_id=t.ticket_id) in " ".join(texts) for t in tickets)
    to = [message_from_bytes(f.read_bytes())["To"] for f in slack.outbox.glob("*.eml")]
    assert to.count("it-support@example.com") == 1


class RecordingLambda:
    """Stands in for boto3's Lambda client: keeps the asynchronous invocations Bolt makes."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        return {"StatusCode": 202}


def test_on_lambda_a_worker_that_died_is_finished_by_the_async_retry_a_minute_later(make_slack):
    """Bolt's real Lambda hand-off: the worker invocation dies mid-answer; Lambda retries the same event after a
    minute, inside the lease; the retry waits the lease out, takes over and updates the one placeholder."""
    import handler

    slack = make_slack(DiesOnce)
    now = [time.time()]
    slack.state.clock = lambda: now[0]
    lam = RecordingLambda()
    runtime = build_runtime(
        Settings.from_env(),
        store=slack.state,
        assistant=lambda: slack.assistant,
        desk=lambda: slack.assistant,
        lambda_client=lam,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    aws.set_runtime(runtime)
    assert handler.lambda_handler(json_event(event_body("app_mention.json")), LambdaContext())["statusCode"] == 200
    payload = json.loads(lam.invocations[0]["Payload"])

    with pytest.raises(WorkerDied):
        handler.lambda_handler(payload, LambdaContext())  # the worker invocation dies: Lambda will retry it
    [looking] = slack.fake.bot_messages("C0HELP001")
    assert looking["text"] == messages.SLACK_LOOKING

    now[0] += 60
    assert handler.lambda_handler(payload, LambdaContext())["statusCode"] == 200

    [reply] = slack.fake.bot_messages("C0HELP001")
    assert reply["ts"] == looking["ts"] and "GlobalProtect" in _texts(reply)
    handler.lambda_handler(payload, LambdaContext())  # the second retry, had there been one: nothing more
    assert len(slack.fake.calls("chat.postMessage")) == 1 and len(slack.fake.calls("chat.update")) == 1
