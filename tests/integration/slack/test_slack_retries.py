"""Redeliveries: Slack's retries (X-Slack-Retry-Num 1-3), duplicate event_ids, deliveries that died half-way, and
Bolt's real Lambda re-invocation path (with a recording Lambda client instead of AWS)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from fakes.lambda_context import LambdaContext
from fakes.slack_requests import command_event, event_body, json_event

from assistant.slack.store import SqliteSlackStore
from helpdesk import slack_lambda as aws
from helpdesk.settings import Settings
from helpdesk.slack_runtime import build_runtime


def test_retries_1_2_and_3_give_exactly_one_answer(slack):
    body = event_body("app_mention.json")
    responses = [slack.deliver(json_event(body, retry=n)) for n in (None, 1, 2, 3)]

    assert [r["statusCode"] for r in responses] == [200, 200, 200, 200]
    assert len(slack.answers("C0HELP001")) == 1
    assert len(slack.fake.calls("chat.postMessage")) == 1
    assert len(slack.assistant.asked) == 1


def test_concurrent_retries_give_exactly_one_answer(slack):
    body = event_body("app_mention.json", text="<@U0BOT0001> something unsure about badges")
    for n in (None, 1, 2, 3):  # all in flight at once, as when the first ack was slow
        slack.send(json_event(body, retry=n))
    slack.drain()
    assert len(slack.answers("C0HELP001")) == 1
    assert len(slack.tickets.list()) == 1


def test_duplicate_event_id_gives_exactly_one_answer(slack):
    first = event_body("message_im.json", event_id="Ev0SAMEID01")
    again = event_body("message_im.json", event_id="Ev0SAMEID01")
    slack.deliver(json_event(first))
    slack.deliver(json_event(again))
    assert len(slack.answers("D0ALICE01")) == 1


def test_retry_of_a_delivery_that_never_finished_is_answered(slack):
    """The first delivery claimed the event and died (a timeout, a crash) before answering; its lease ran out."""
    body = event_body("app_mention.json")
    long_ago = SqliteSlackStore(slack.state.path, clock=lambda: 1_000_000.0)
    assert long_ago.claim(f"event:{body['event_id']}", lease_seconds=120) == "new"

    slack.deliver(json_event(body, retry=1))

    assert len(slack.answers("C0HELP001")) == 1


def test_retry_while_the_first_delivery_is_still_working_is_dropped(slack):
    body = event_body("app_mention.json")
    assert slack.state.claim(f"event:{body['event_id']}", lease_seconds=120) == "new"  # someone is on it now

    slack.deliver(json_event(body, retry=1))

    assert slack.answers("C0HELP001") == [] and slack.assistant.asked == []


def test_failed_job_can_be_retried_after_its_lease(make_slack, monkeypatch):
    """A job that raised leaves its claim in progress; after the lease, a redelivery answers."""
    slack = make_slack()
    now = [1_800_000_000.0]
    slack.state.clock = lambda: now[0]
    monkeypatch.setattr(slack.runtime.bot, "answer_into", _crash_once(slack.runtime.bot.answer_into))
    body = event_body("app_mention.json")
    slack.deliver(json_event(body))
    assert slack.answers("C0HELP001") == []
    slack.deliver(json_event(body, retry=1))  # within the lease: still someone else's
    assert slack.answers("C0HELP001") == []
    now[0] += 121
    slack.deliver(json_event(body, retry=2))
    assert len(slack.answers("C0HELP001")) == 1


def _crash_once(fn):
    state = {"crashed": False}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not state["crashed"]:
            state["crashed"] = True
            raise RuntimeError("the process died here")
        return fn(*args, **kwargs)

    return wrapper


def test_redelivered_command_gives_one_answer(slack):
    event = command_event("how do I connect to the VPN?")
    slack.deliver(event)
    slack.deliver(json.loads(json.dumps(event)))
    assert len(slack.answers("C0HELP001")) == 1


# --- Bolt's Lambda lazy path, for real ---------------------------------------------------------------------------
@dataclass
class RecordingLambda:
    """Stands in for boto3's Lambda client: records the asynchronous self-invocations Bolt makes."""

    invocations: list[dict[str, Any]] = field(default_factory=list)
    now: list[float] = field(default_factory=list)

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        return {"StatusCode": 202}


@pytest.fixture
def lambda_runtime(slack):
    lam = RecordingLambda()
    lam.now = [time.time()]
    runtime = build_runtime(
        Settings.from_env(),
        store=slack.state,
        assistant=lambda: slack.assistant,
        desk=lambda: slack.assistant,
        lambda_client=lam,
        clock=lambda: lam.now[0],
    )
    aws.set_runtime(runtime)
    return lam


@pytest.mark.parametrize("flavour", ["rest", "v2"])
def test_lambda_ack_invokes_itself_and_the_reinvocation_answers(slack, lambda_runtime, flavour):
    import handler

    ack = handler.lambda_handler(json_event(event_body("app_mention.json"), flavour=flavour), LambdaContext())

    assert ack["statusCode"] == 200
    assert slack.fake.calls() == [] and slack.assistant.asked == []  # the ack did no work
    [invocation] = lambda_runtime.invocations
    assert invocation["InvocationType"] == "Event"
    assert invocation["FunctionName"] == LambdaContext.invoked_function_arn
    payload = json.loads(invocation["Payload"])
    assert payload["headers"]["x-slack-bolt-lazy-only"] == "1"

    result = handler.lambda_handler(payload, LambdaContext())  # what Lambda runs asynchronously

    assert result["statusCode"] == 200
    assert len(slack.answers("C0HELP001")) == 1
    assert lambda_runtime.invocations == [invocation]  # the lazy run does not invoke again
    handler.lambda_handler(payload, LambdaContext())  # Lambda retries an async invocation: still one answer
    assert len(slack.answers("C0HELP001")) == 1


def test_with_a_worker_function_the_receiver_invokes_the_worker_which_answers(slack, monkeypatch):
    import handler

    monkeypatch.setenv("HELPDESK_SLACK_WORKER_FUNCTION", "it-helpdesk-worker")
    lam = RecordingLambda()
    runtime = build_runtime(
        Settings.from_env(),
        store=slack.state,
        assistant=lambda: slack.assistant,
        desk=lambda: slack.assistant,
        lambda_client=lam,
    )
    aws.set_runtime(runtime)
    ack = handler.lambda_handler(json_event(event_body("app_mention.json")), LambdaContext())
    assert ack["statusCode"] == 200 and slack.assistant.asked == []
    [invocation] = lam.invocations
    assert invocation["FunctionName"] == "it-helpdesk-worker" and invocation["InvocationType"] == "Event"
    worker = LambdaContext(function_name="it-helpdesk-worker", invoked_function_arn="arn:...:it-helpdesk-worker")
    assert handler.worker_handler(json.loads(invocation["Payload"]), worker)["statusCode"] == 200
    assert len(slack.answers("C0HELP001")) == 1 and len(lam.invocations) == 1


def test_lambda_ignored_events_do_not_invoke(slack, lambda_runtime):
    import handler

    handler.lambda_handler(json_event(event_body("message_bot.json")), LambdaContext())
    assert lambda_runtime.invocations == []


def test_lambda_reinvocation_delayed_past_five_minutes_still_answers(slack, lambda_runtime):
    """Lambda may hold an asynchronous event for minutes (throttling): the signed original is still honoured."""
    import handler

    handler.lambda_handler(json_event(event_body("app_mention.json")), LambdaContext())
    payload = json.loads(lambda_runtime.invocations[0]["Payload"])
    lambda_runtime.now[0] += 20 * 60

    assert handler.lambda_handler(payload, LambdaContext())["statusCode"] == 200
    assert len(slack.answers("C0HELP001")) == 1


def test_a_stale_request_claiming_to_be_lazy_over_http_is_refused(slack, lambda_runtime):
    """Through API Gateway nobody can set the top-level "method": the lazy header alone relaxes nothing."""
    import handler

    event = json_event(event_body("app_mention.json"), timestamp=str(int(time.time()) - 20 * 60))
    event["headers"]["x-slack-bolt-lazy-only"] = "1"
    event["headers"]["x-slack-bolt-lazy-function-name"] = "answer_mention"
    assert handler.lambda_handler(event, LambdaContext())["statusCode"] == 401
    assert slack.fake.calls() == []
