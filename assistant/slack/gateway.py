"""API Gateway (REST proxy and HTTP API v2) in front of the Bolt app.

Before Bolt sees a request we check, in this order, and answer with a specific status: the route (404) and method
(405), the size (413, over 1 MB), the signature (401, nothing processed; the one verification: Bolt's own is off),
and that the body is the JSON or form Slack sends (400). The body is parsed once, here, and handed to Bolt already
parsed; Bolt dispatches and its ack is the response. One info log line per request: kind, status, duration, retry
number; never the text or a token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

from assistant.slack.events import bot_user_id_of
from assistant.slack.shape import shape_problem

MAX_BODY_BYTES = 1024 * 1024
PATH = "/slack/events"
SIGNATURE_MAX_AGE = 5 * 60  # Slack's replay window
REINVOKE_MAX_AGE = 6 * 3600  # Lambda keeps an asynchronous self-invocation for up to six hours
log = logging.getLogger("helpdesk.slack")


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def is_reinvocation(event: Any) -> bool:
    """Bolt's asynchronous self-invocation on Lambda: a top-level "method": "NONE", which API Gateway never sends
    (so only a principal allowed to invoke the function can), carrying the original signed request."""
    return isinstance(event, Mapping) and event.get("method") == "NONE"


def signature_ok(
    verifier: SignatureVerifier, body: str, timestamp: str, signature: str, *, now: float, max_age: float
) -> bool:
    """HMAC-SHA256 over `v0:{timestamp}:{body}`, compared in constant time, with the timestamp within `max_age`."""
    if not timestamp.isdigit() or not signature or abs(now - int(timestamp)) > max_age:
        return False
    expected = verifier.generate_signature(timestamp=timestamp, body=body)
    return expected is not None and hmac.compare_digest(expected, signature)


def check_event(event: Any) -> None:
    """A Lambda event the gateway can read: an API Gateway request (or Bolt's re-invocation of one)."""
    if not isinstance(event, Mapping):
        raise BadRequest(400, f"the event is {type(event).__name__}, not an API Gateway request")
    for key in ("headers", "multiValueHeaders", "requestContext", "queryStringParameters"):
        if event.get(key) is not None and not isinstance(event[key], Mapping):
            raise BadRequest(400, f"the event's {key} is not an object")
    for values in (event.get("multiValueHeaders") or {}).values():
        if values is not None and not isinstance(values, list):
            raise BadRequest(400, "the event's multiValueHeaders must hold lists")
    context = event.get("requestContext") or {}
    if context.get("http") is not None and not isinstance(context["http"], Mapping):
        raise BadRequest(400, "the event's requestContext.http is not an object")
    if event.get("body") is not None and not isinstance(event["body"], str):
        raise BadRequest(400, "the event's body is not a string")


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
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise BadRequest(413, f"body is {len(data)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "body is not UTF-8") from exc


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"{what} is not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise BadRequest(400, f"{what} is nested too deeply") from exc
    if not isinstance(data, dict):
        raise BadRequest(400, f'{"JSON body" if what == "body" else what} must be an object with a "type"')
    return data


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    if problem := shape_problem(data):
        raise BadRequest(400, problem)
    return data


def parse_payload(body: str, content_type: str) -> dict[str, Any]:
    """The request as Slack sends it: a JSON event, or a form (slash command, or `payload=` interactivity)."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "application/json" or body.lstrip().startswith("{"):
        data = _json_object(body, "body")
        if not isinstance(data.get("type"), str):
            raise BadRequest(400, 'JSON body must be an object with a "type"')
        return _checked(data)
    try:
        form = dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))
    except ValueError as exc:
        raise BadRequest(400, "body is neither JSON nor a valid form") from exc
    if "payload" in form:
        data = _json_object(form["payload"], "payload")
        if not isinstance(data.get("type"), str):
            raise BadRequest(400, 'payload must be an object with a "type"')
        return _checked(data)
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
    """What the Lambda lazy runner needs from a Lambda context, for callers without one (local server, tests)."""

    function_name: str = "helpdesk-local"
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:helpdesk-local"


class SlackGateway:
    """Checks, parses and dispatches one API Gateway event to the Bolt `app`.

    `invoke_target` (a function name or ARN) is where Bolt's LambdaLazyListenerRunner sends the lazy work; empty:
    this same function."""

    def __init__(
        self, app: App, signing_secret: str, *, clock: Callable[[], float] = time.time, invoke_target: str = ""
    ) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)
        self.clock = clock
        self.invoke_target = invoke_target

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        info: dict[str, Any] = {"kind": "invalid"}
        lazy = is_reinvocation(event)
        try:
            check_event(event)
            headers = _headers(event)
            if headers.get("x-slack-retry-num"):
                info.update(
                    retry_num=headers["x-slack-retry-num"], retry_reason=headers.get("x-slack-retry-reason", "")
                )
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
        reinvoked = is_reinvocation(event)
        if method not in ("POST", "NONE") and not reinvoked:
            raise BadRequest(405, f"{method or 'no method'} is not allowed; Slack uses POST")
        body = decode_body(event)
        if not signature_ok(
            self.verifier,
            body,
            headers.get("x-slack-request-timestamp", ""),
            headers.get("x-slack-signature", ""),
            now=self.clock(),
            max_age=REINVOKE_MAX_AGE if reinvoked else SIGNATURE_MAX_AGE,
        ):
            raise BadRequest(401, "invalid or stale Slack signature")
        payload = parse_payload(body, headers.get("content-type", ""))
        info["kind"] = request_kind(payload)
        if payload.get("event_id"):
            info["event_id"] = payload["event_id"]
        response = self.app.dispatch(self._bolt_request(event, context, headers, body, payload))
        return {"statusCode": response.status, "headers": response.first_headers(), "body": response.body}

    def _bolt_request(
        self, event: Mapping[str, Any], context: Any, headers: dict[str, str], body: str, payload: dict[str, Any]
    ) -> BoltRequest:
        """The request as Bolt takes it, already parsed and verified.

        Bolt accepts a parsed `body` dict only with `mode="socket_mode"` (in "http" mode it insists on the raw
        string and parses it itself, treating any form that contains the text "payload" as interactivity, so
        `/helpdesk what is the payload limit?` would arrive empty); "socket_mode" otherwise only skips Bolt's own
        signature check, which is off anyway because the signature was verified above. The lazy copies Bolt makes
        keep this dict rather than parsing again.

        The context keys `lambda_request` and `aws_lambda_invoked_function_arn` are what Bolt's
        LambdaLazyListenerRunner reads to re-invoke the function; Bolt's own Lambda adapter sets them the same
        way and has no public way to hand them over without also parsing the body itself."""
        normalized = dict(event)
        normalized.update(body=body, isBase64Encoded=False, headers=dict(headers))
        if not normalized.get("requestContext"):
            normalized["requestContext"] = {"http": {"method": "POST", "path": PATH}}
        if context is None or not hasattr(context, "invoked_function_arn"):
            context = _LocalContext()
        return BoltRequest(
            body=payload,
            query=event.get("queryStringParameters") or None,
            headers=dict(headers),
            context={
                "helpdesk_bot_user_id": bot_user_id_of(payload),
                "lambda_request": normalized,
                "aws_lambda_function_name": context.function_name,
                "aws_lambda_invoked_function_arn": self.invoke_target or context.invoked_function_arn,
            },
            mode="socket_mode",
        )


def _response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
