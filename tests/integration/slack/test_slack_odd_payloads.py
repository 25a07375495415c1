"""Signed requests of odd shape and Lambda events that are not API Gateway requests: a 4xx Slack does not retry,
never a 500, and nothing processed."""

from __future__ import annotations

import copy
import json

import pytest
from fakes.lambda_context import LambdaContext
from fakes.slack_requests import action_body, action_event, api_event, event_body, fixture, json_event


def _nothing_processed(slack) -> None:
    slack.drain()
    assert slack.runner.started == 0
    assert slack.fake.calls() == []
    assert slack.assistant.asked == []


def _event(**fields) -> dict:
    body = event_body("app_mention.json")
    body.update(fields)
    return body


def _action(**fields) -> dict:
    body = action_body("helpdesk_helpful", "yes")
    body.update(fields)
    return body


ODD_EVENTS = {
    "event-a-string": lambda: json_event(_event(event="app_mention")),
    "event-a-list": lambda: json_event(_event(event=[1, 2])),
    "event-without-type": lambda: json_event(_event(event={"text": "hi"})),
    "event-type-a-number": lambda: json_event(_event(event={"type": 7})),
    "event-text-an-object": lambda: json_event(
        {**event_body("app_mention.json"), "event": {**fixture("app_mention.json")["event"], "text": {"a": 1}}}
    ),
    "event-user-a-list": lambda: json_event(
        {**event_body("app_mention.json"), "event": {**fixture("app_mention.json")["event"], "user": ["U1"]}}
    ),
    "authorizations-a-string": lambda: json_event(_event(authorizations="nope")),
    "actions-null": lambda: action_event(_action(actions=None)),
    "actions-empty": lambda: action_event(_action(actions=[])),
    "actions-of-strings": lambda: action_event(_action(actions=["helpdesk_helpful"])),
    "action-value-an-object": lambda: action_event(
        _action(actions=[{**fixture("block_actions.json")["actions"][0], "action_id": "x", "value": {"a": 1}}])
    ),
    "user-a-string": lambda: action_event(_action(user="U0ALICE01")),
    "channel-a-number": lambda: action_event(_action(channel=5)),
    "message-a-string": lambda: action_event(_action(message="hi")),
    "view-a-string": lambda: action_event({**copy.deepcopy(fixture("view_submission.json")), "view": "V1"}),
    "deep-json-object": lambda: api_event(
        '{"type": "event_callback", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", content_type="application/json"
    ),
    "deep-json-array": lambda: api_event("[" * 100_000, content_type="application/json"),
    "deep-payload": lambda: api_event("payload=" + "%5B" * 100_000, content_type="application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("name", sorted(ODD_EVENTS))
def test_odd_signed_payloads_are_400_and_nothing_is_processed(slack, name):
    response = slack.send(ODD_EVENTS[name]())
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"]
    _nothing_processed(slack)


@pytest.mark.parametrize(
    "event",
    [None, "a string", 42, [], {"headers": "x-slack-signature"}, {"headers": {"a": 1}, "body": 5}],
    ids=["none", "string", "number", "list", "headers-a-string", "body-a-number"],
)
def test_a_lambda_event_that_is_not_a_request_is_400(slack, event):
    response = slack.send(event, LambdaContext())
    assert response["statusCode"] == 400, response
    _nothing_processed(slack)
