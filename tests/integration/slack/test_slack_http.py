"""The HTTP edge: signatures (with Slack's published test vector), bad bodies, sizes, routes, both API Gateway
payload formats, escaping, Slack API errors and what gets logged."""

from __future__ import annotations

import json
import logging

import pytest
from fakes.lambda_context import LambdaContext
from fakes.slack_api import ALICE, TOKEN, iter_texts
from fakes.slack_requests import SECRET, api_event, command_event, event_body, json_event, sign

from assistant.slack.lazy import ThreadedLazyRunner
from assistant.slack.secrets import SlackCredentials
from assistant.slack.store import SqliteSlackStore
from helpdesk import slack_lambda as aws
from helpdesk.settings import Settings
from helpdesk.slack_runtime import build_runtime

# Slack's published signing test vector (python-slack-sdk's signature tests, citing
# https://api.slack.com/authentication/verifying-requests-from-slack): secret, timestamp, body, signature.
VECTOR = {
    "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
    "timestamp": "1531420618",
    "body": (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channe"
        "l_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=h"
        "ttps%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigge"
        "r_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    ),
    "expected_signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
}


CONTEXT = LambdaContext()


def _nothing_processed(slack) -> None:
    slack.drain()
    assert slack.runner.started == 0
    assert slack.fake.calls() == []
    assert slack.assistant.asked == []


# --- signatures --------------------------------------------------------------------------------------------------
def test_slacks_published_signing_test_vector(tmp_path):
    assert sign(VECTOR["signing_secret"], VECTOR["timestamp"], VECTOR["body"]) == VECTOR["expected_signature"]
    runtime = build_runtime(
        Settings.from_env(),
        credentials=SlackCredentials(VECTOR["signing_secret"], TOKEN),
        store=SqliteSlackStore(tmp_path / "s.sqlite3"),
        lazy_runner=ThreadedLazyRunner(1),
        clock=lambda: int(VECTOR["timestamp"]) + 60,  # Slack signed it in 2018: pretend it is a minute later
    )
    aws.set_runtime(runtime)
    try:

        def send(body: str, signature: str) -> int:
            event = api_event(
                body,
                content_type="application/x-www-form-urlencoded",
                timestamp=VECTOR["timestamp"],
                signature=signature,
            )
            return aws.lambda_handler(event, CONTEXT)["statusCode"]

        assert send(VECTOR["body"], VECTOR["expected_signature"]) == 200  # verified (an unknown command: acked)
        assert send(VECTOR["body"].replace("roadrunner", "coyote"), VECTOR["expected_signature"]) == 401
        assert send(VECTOR["body"], VECTOR["expected_signature"][:-1] + "0") == 401
    finally:
        aws.set_runtime(None)


def test_the_vector_is_stale_today(slack, monkeypatch):
    """The same vector against the real clock: more than five minutes old, so refused."""
    monkeypatch.setattr(slack.runtime.gateway.verifier, "signing_secret", VECTOR["signing_secret"])
    event = api_event(
        VECTOR["body"],
        content_type="application/x-www-form-urlencoded",
        timestamp=VECTOR["timestamp"],
        signature=VECTOR["expected_signature"],
    )
    assert slack.send(event)["statusCode"] == 401


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "not-the-secret"},
        {"signature": "v0=" + "0" * 64},
        {"signature": ""},
        {"timestamp": "not-a-number"},
    ],
    ids=["wrong-secret", "wrong-signature", "no-signature", "bad-timestamp"],
)
def test_bad_signature_is_401_and_nothing_is_processed(slack, kwargs):
    response = slack.send(json_event(event_body("app_mention.json"), **kwargs))
    assert response["statusCode"] == 401
    _nothing_processed(slack)


def test_stale_signature_is_401(slack):
    import time

    old = str(int(time.time()) - 301)
    response = slack.send(json_event(event_body("app_mention.json"), timestamp=old))
    assert response["statusCode"] == 401
    _nothing_processed(slack)


def test_stale_retry_of_a_command_is_401(slack):
    import time

    response = slack.send(command_event("ticket x", timestamp=str(int(time.time()) + 400)))  # from the future
    assert response["statusCode"] == 401
    _nothing_processed(slack)


# --- bodies, sizes, routes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"type": "event_callback", "event": ', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('{"no_type": true}', "application/json"),
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        ("just some words", "application/x-www-form-urlencoded"),
        ("a=1&b=2", "application/x-www-form-urlencoded"),
    ],
    ids=["truncated-json", "json-array", "json-without-type", "payload-not-json", "not-a-form", "form-not-slack"],
)
def test_malformed_body_is_400(slack, body, content_type):
    response = slack.send(api_event(body, content_type=content_type))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]
    _nothing_processed(slack)


def test_body_over_one_megabyte_is_rejected(slack):
    body = event_body("app_mention.json")
    body["event"]["text"] = "x" * (1024 * 1024)
    response = slack.send(json_event(body))
    assert response["statusCode"] == 413
    _nothing_processed(slack)


def test_wrong_route_and_method(slack):
    assert slack.send(json_event(event_body("app_mention.json"), path="/other"))["statusCode"] == 404
    assert slack.send(json_event(event_body("app_mention.json"), method="GET"))["statusCode"] == 405
    _nothing_processed(slack)


@pytest.mark.parametrize("flavour", ["rest", "v2"])
@pytest.mark.parametrize("base64_body", [False, True])
def test_rest_and_http_api_payloads_both_work(slack, flavour, base64_body):
    slack.deliver(command_event("how do I connect to the VPN?", flavour=flavour, base64_body=base64_body))
    assert len(slack.answers("C0HELP001")) == 1


# --- output safety -----------------------------------------------------------------------------------------------
def test_injection_attempt_to_ping_the_channel_is_neutralised(slack):
    slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> inject <!channel> please @here")))

    [answer] = slack.answers("C0HELP001")
    for text in [answer["text"], *iter_texts(answer["blocks"])]:
        assert "<!" not in text and "<@U0CEO0001>" not in text
        assert "@channel" not in text and "@here" not in text and "@everyone" not in text
    body = "\n".join(iter_texts(answer["blocks"]))
    assert "&lt;!channel&gt;" in body and "&lt;!subteam^S0ADMINS|@admins&gt;" in body and "&lt;@U0CEO0001&gt;" in body
    assert "@\u2060channel" in body and "&amp; more" in body
    # the question echoed by the command path is escaped too
    slack.deliver(command_event("inject <!everyone> now", response_url=slack.fake.response_url()))
    for m in slack.answers("C0HELP001"):
        assert "<!everyone>" not in json.dumps(m["blocks"])


# --- Slack API errors --------------------------------------------------------------------------------------------
def test_ratelimited_post_waits_retry_after_and_answers(make_slack, monkeypatch):
    slack = make_slack()
    waits: list[float] = []
    slack.runtime.bot.sleep = waits.append
    slack.fake.fail("chat.postMessage", "ratelimited", retry_after=2)

    slack.deliver(json_event(event_body("app_mention.json")))

    assert waits == [2.0]
    assert len(slack.answers("C0HELP001")) == 1


def test_failed_update_falls_back_to_a_new_message(slack):
    slack.fake.fail("chat.update", "message_not_found")
    slack.deliver(json_event(event_body("app_mention.json")))
    assert len(slack.answers("C0HELP001")) == 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel"])
def test_a_failed_post_never_loses_a_ticket(slack, error, caplog):
    # "Looking into it…" goes out, then the channel goes away: the update and the fallback post both fail
    slack.fake.fail("chat.update", error, times=5)
    slack.fake.fail("chat.postMessage", error, times=5, after=1)
    with caplog.at_level(logging.WARNING, logger="helpdesk.slack"):
        slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> unsure about badges")))
    [ticket] = slack.tickets.list()
    assert ticket.reason == "low_confidence" and ticket.requester_id == ALICE
    assert any(getattr(r, "slack_error", "") == error for r in caplog.records)


def test_ticket_confirmation_post_failure_keeps_the_ticket(slack):
    slack.fake.fail("chat.postMessage", "channel_not_found", times=3)
    slack.deliver(command_event("ticket the projector is broken", response_url=slack.fake.response_url()))
    [ticket] = slack.tickets.list()
    assert ticket.question == "the projector is broken"


# --- logging -----------------------------------------------------------------------------------------------------
def test_one_info_line_per_request_without_question_text_or_secrets(slack, caplog):
    with caplog.at_level(logging.DEBUG, logger="helpdesk.slack"):
        slack.deliver(json_event(event_body("app_mention.json", text="<@U0BOT0001> my secret question zebra")))
        slack.send(json_event(event_body("app_mention.json"), secret="wrong"))
    info = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("helpdesk.slack")]
    requests = [r for r in info if r.getMessage() == "slack request"]
    assert [r.status for r in requests] == [200, 401]
    assert [r.kind for r in requests] == ["event:app_mention", "invalid"]
    dump = "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert TOKEN not in dump and SECRET not in dump
    assert "zebra" not in "\n".join(json.dumps(r.__dict__, default=str) for r in info)


def test_an_unexpected_failure_is_a_500_not_a_crash(slack, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(slack.runtime.gateway.app, "dispatch", boom)
    response = slack.send(json_event(event_body("app_mention.json")))
    assert response["statusCode"] == 500 and "bug" not in response["body"]
