"""Signed Slack requests as API Gateway events (REST proxy v1 and HTTP API v2), built from the fixtures in
tests/events/slack/ (the project's own, in the shapes Slack sends)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fakes.slack_api import APP_ID, BOT_USER, TEAM

EVENTS = Path(__file__).resolve().parents[1] / "events" / "slack"
SECRET = "test-signing-secret-0123456789abcdef"
_ids = itertools.count(1)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def sign(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return "v0=" + digest


def api_event(
    body: str,
    *,
    content_type: str,
    secret: str = SECRET,
    timestamp: str | None = None,
    signature: str | None = None,
    retry: int | None = None,
    flavour: str = "rest",
    base64_body: bool = False,
    method: str = "POST",
    path: str = "/slack/events",
) -> dict[str, Any]:
    """An API Gateway event carrying `body`, signed with `secret` unless `signature` is given."""
    ts = timestamp or str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature if signature is not None else sign(secret, ts, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    payload = base64.b64encode(body.encode()).decode() if base64_body else body
    if flavour == "v2":
        return {
            "version": "2.0",
            "routeKey": f"{method} {path}",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {k.lower(): v for k, v in headers.items()},
            "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
            "body": payload,
            "isBase64Encoded": base64_body,
        }
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"httpMethod": method, "path": f"/prod{path}", "stage": "prod", "resourcePath": path},
        "body": payload,
        "isBase64Encoded": base64_body,
    }


def event_body(name: str, *, event_id: str | None = None, **event_fields: Any) -> dict[str, Any]:
    """An event_callback from fixture `name`, with a fresh event_id (or the one given) and fields overridden."""
    body = copy.deepcopy(fixture(name))
    body["event_id"] = event_id or f"Ev{next(_ids):08d}"
    body["event"].update(event_fields)
    return body


def json_event(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return api_event(json.dumps(body), content_type="application/json", **kw)


def command_event(text: str, *, user: str = "U0ALICE01", channel: str = "C0HELP001", response_url: str = "", **kw: Any):
    fields = fixture("slash_command.json")
    fields.update(text=text, user_id=user, channel_id=channel, trigger_id=f"{next(_ids)}.1.abc")
    if response_url:
        fields["response_url"] = response_url
    return api_event(urlencode(fields), content_type="application/x-www-form-urlencoded", **kw)


def action_body(
    action_id: str,
    value: str,
    *,
    user: str = "U0ALICE01",
    channel: str = "C0HELP001",
    message: dict[str, Any] | None = None,
    response_url: str = "",
    container_type: str = "message",
) -> dict[str, Any]:
    body = copy.deepcopy(fixture("block_actions.json"))
    n = next(_ids)
    body["user"].update(id=user, username=user.lower(), name=user.lower())
    body["actions"][0].update(action_id=action_id, value=value, action_ts=f"{1700001000 + n}.{n:06d}")
    body["trigger_id"] = f"{n}.1.trigger"
    if container_type == "view":
        body["container"] = {"type": "view", "view_id": "V1"}
        body.pop("channel", None)
        body.pop("message", None)
    else:
        msg = message or {"ts": "1700000001.000001", "blocks": []}
        body["container"].update(channel_id=channel, message_ts=msg["ts"], is_ephemeral=False)
        body["channel"]["id"] = channel
        body["message"] = msg
    if response_url:
        body["response_url"] = response_url
    return body


def action_event(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return api_event(urlencode({"payload": json.dumps(body)}), content_type="application/x-www-form-urlencoded", **kw)


def view_submission_body(view: dict[str, Any], *, user: str, values: dict[str, Any]) -> dict[str, Any]:
    """A view_submission of `view` (as the app opened it) by `user` with these input `values`."""
    body = copy.deepcopy(fixture("view_submission.json"))
    n = next(_ids)
    body["user"].update(id=user, username=user.lower(), name=user.lower())
    body["view"].update(
        id=f"V0MODAL{n:03d}",
        callback_id=view["callback_id"],
        private_metadata=view.get("private_metadata", ""),
        state={"values": values},
    )
    return body


def submit_resolve_modal(slack: Any, user: str, *, note: str = "", draft: bool = False) -> dict[str, Any]:
    """Submit the resolve modal the app last opened with views.open (recorded by the Slack fake)."""
    raw = slack.fake.calls("views.open")[-1].params["view"]
    view = json.loads(raw) if isinstance(raw, str) else raw
    values = {
        "helpdesk_note": {"note": {"type": "plain_text_input", "value": note or None}},
        "helpdesk_draft": {
            "draft": {
                "type": "checkboxes",
                "selected_options": [{"value": "draft", "text": {"type": "plain_text", "text": "x"}}] if draft else [],
            }
        },
    }
    body = view_submission_body(view, user=user, values=values)
    slack.deliver(action_event(body))
    return body


__all__ = [
    "APP_ID",
    "BOT_USER",
    "SECRET",
    "TEAM",
    "action_body",
    "action_event",
    "command_event",
    "event_body",
    "submit_resolve_modal",
    "view_submission_body",
]
