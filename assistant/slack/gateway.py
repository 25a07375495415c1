"""API Gateway (REST proxy and HTTP API v2) in front of Bolt's Lambda adapter.

Before Bolt sees a request we check, in this order, and answer with a specific status: the route (404) and method
(405), the size (413, over 1 MB), the signature (401, nothing processed), and that the body is the JSON or form
Slack sends (400). Then Bolt verifies again, dispatches, and its ack is the response. One info log line per
request: kind, status, duration, retry number; never the text or a token.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from assistant.slack.app import REINVOKE_MAX_AGE, SIGNATURE_MAX_AGE, _FunctionClock, is_reinvocation, signature_ok

MAX_BODY_BYTES = 1024 * 1024
PATH = "/slack/events"
log = logging.getLogger("helpdesk.slack")


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items() if v is not None}
    for k, values in (event.get("multiValueHeaders") or {}).items():
        if values and str(k).lower() not in headers:
            headers[str(k).lower()] = str(values[0])
    return headers


def _method_and_path(event: Mapping[str, Any]) -> tuple[str, str]:
    ctx = event.get("requestContext") or {}
    http = ctx.get("http") or {}
    method = http.get("method") or event.get("httpMethod") or ctx.get("httpMethod") or ""
    path = event.get("rawPath") or http.get("path") or event.get("path") or ctx.get("resourcePath") or ""
    return str(method).upper(), str(path)


def decode_body(event: Mapping[str, Any]) -> str:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(400, "body is not valid base64") from exc
    else:
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if len(data) > MAX_BODY_BYTES:
        raise BadRequest(413, f"body is {len(data)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "body is not UTF-8") from exc


def parse_payload(body: str, content_type: str) -> dict[str, Any]:
    """The request as Slack sends it: a JSON event, or a form (slash command, or `payload=` interactivity)."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "application/json" or body.lstrip().startswith("{"):
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise BadRequest(400, f"body is not valid JSON ({exc.msg})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise BadRequest(400, 'JSON body must be an object with a "type"')
        return data
    try:
        form = dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))
    except ValueError as exc:
        raise BadRequest(400, "body is neither JSON nor a valid form") from exc
    if "payload" in form:
        try:
            data = json.loads(form["payload"])
        except json.JSONDecodeError as exc:
            raise BadRequest(400, f"payload is not valid JSON ({exc.msg})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise BadRequest(400, 'payload must be an object with a "type"')
        return data
    if "command" in form or "ssl_check" in form:
        return form
    raise BadRequest(400, "form body is neither a slash command nor an interactivity payload")


def request_kind(payload: Mapping[str, Any]) -> str:
    if "command" in payload:
        return "command"
    kind = str(payload.get("type", ""))
    if kind == "event_callback":
        event = payload.get("event") or {}
        return f"event:{event.get('type', '')}" + (f":{event['subtype']}" if event.get("subtype") else "")
    if kind == "block_actions":
        return "action:" + str(((payload.get("actions") or [{}])[0]).get("action_id", ""))
    return kind or "ssl_check"


@dataclass
class _LocalContext:
    """What Bolt's adapter reads from a Lambda context, for callers without one (local server, tests)."""

    function_name: str = "helpdesk-local"
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:helpdesk-local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


class SlackGateway:
    def __init__(
        self, handler: SlackRequestHandler, signing_secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.handler = handler
        self.verifier = SignatureVerifier(signing_secret, clock=_FunctionClock(clock))
        self.clock = clock

    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        headers = _headers(event)
        info: dict[str, Any] = {"kind": "invalid"}
        if headers.get("x-slack-retry-num"):
            info.update(retry_num=headers["x-slack-retry-num"], retry_reason=headers.get("x-slack-retry-reason", ""))
        lazy = is_reinvocation(event)
        try:
            response = self._handle(event, context, headers, info)
        except BadRequest as exc:
            info["reason"] = exc.reason
            response = _response(exc.status, {"error": exc.reason})
        except Exception:  # a bug: answer 500 (Slack will redeliver) rather than crash the invocation
            log.exception("slack request failed", extra={"kind": info["kind"]})
            response = _response(500, {"error": "internal error"})
        info.update(status=response["statusCode"], duration_ms=round((time.perf_counter() - started) * 1000, 2))
        (log.debug if lazy else log.info)("slack request", extra=info)
        return response

    def _handle(
        self, event: Mapping[str, Any], context: Any, headers: dict[str, str], info: dict[str, Any]
    ) -> dict[str, Any]:
        method, path = _method_and_path(event)
        if path and not path.rstrip("/").endswith(PATH):
            raise BadRequest(404, f"no route {path}; Slack posts to {PATH}")
        if method not in ("POST", "NONE") and event.get("method") != "NONE":
            raise BadRequest(405, f"{method or 'no method'} is not allowed; Slack uses POST")
        body = decode_body(event)
        if not signature_ok(
            self.verifier,
            body,
            headers.get("x-slack-request-timestamp", ""),
            headers.get("x-slack-signature", ""),
            now=self.clock(),
            max_age=REINVOKE_MAX_AGE if is_reinvocation(event) else SIGNATURE_MAX_AGE,
        ):
            raise BadRequest(401, "invalid or stale Slack signature")
        payload = parse_payload(body, headers.get("content-type", ""))
        info["kind"] = request_kind(payload)
        if payload.get("event_id"):
            info["event_id"] = payload["event_id"]
        normalized = dict(event)
        normalized.update(body=body, isBase64Encoded=False, headers=headers)
        if not normalized.get("requestContext"):
            normalized["requestContext"] = {"http": {"method": "POST", "path": PATH}}
        if context is None or not hasattr(context, "invoked_function_arn"):
            context = _LocalContext()
        result = self.handler.handle(normalized, context)
        body_out = result.get("body", "")
        return {
            "statusCode": int(result.get("statusCode", 500)),
            "headers": dict(result.get("headers") or {}),
            "body": body_out if isinstance(body_out, str) else json.dumps(body_out),
        }


def _response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
