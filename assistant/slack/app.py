"""The Bolt app: verification, authorisation without a network call, ack functions and lazy listeners.

Every listener acks at once (`process_before_response=True`, so the ack is the HTTP response) and hands the work
to a lazy function: on Lambda Bolt re-invokes the same function asynchronously with the signed request; locally
(serve, Socket Mode, tests) a thread runs it. Matchers are pure, so events the bot will not answer (other bots,
edits, channels it is off in, top-level chatter) are acked without starting any work.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import slack_bolt.request.request as _bolt_request
from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request.internals import parse_body as _bolt_parse_body
from slack_sdk import WebClient
from slack_sdk.signature import Clock, SignatureVerifier

from assistant import messages
from assistant.slack import blocks as bk
from assistant.slack import interactions
from assistant.slack.bot import HelpdeskBot
from assistant.slack.events import bot_user_id_of, mention_candidate, message_candidate, parse_command

COMMAND = "/helpdesk"
log = logging.getLogger("helpdesk.slack")


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    """Bolt's body parser, except that a form body is only treated as interactivity when it *has* a `payload`
    field: Bolt looks for the substring "payload" anywhere, so `/helpdesk what is the payload limit?` parsed as
    an empty body and the command was dropped."""
    if body and not body.startswith("{") and content_type != "application/json":
        params = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" not in params:
            return params
    return _bolt_parse_body(body, content_type)


_bolt_request.parse_body = parse_body  # BoltRequest (and its lazy copies) parse with the fixed version


class _FunctionClock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


SIGNATURE_MAX_AGE = 5 * 60  # Slack's replay window
REINVOKE_MAX_AGE = 6 * 3600  # Lambda keeps an asynchronous self-invocation for up to six hours


def signature_ok(
    verifier: SignatureVerifier, body: str, timestamp: str, signature: str, *, now: float, max_age: float
) -> bool:
    """HMAC-SHA256 over `v0:{timestamp}:{body}`, compared in constant time, with the timestamp within `max_age`."""
    if not timestamp.isdigit() or not signature or abs(now - int(timestamp)) > max_age:
        return False
    expected = verifier.generate_signature(timestamp=timestamp, body=body)
    return expected is not None and hmac.compare_digest(expected, signature)


def is_reinvocation(event: Any) -> bool:
    """Bolt's asynchronous self-invocation on Lambda: a top-level "method": "NONE", which API Gateway never sends
    (so only a principal allowed to invoke the function can), carrying the original signed request."""
    return isinstance(event, dict) and event.get("method") == "NONE"


class VerifyRequest(RequestVerification):
    """Bolt's signature check (HMAC-SHA256 over v0:timestamp:body) with an injectable clock, a 5-minute window
    (6 hours for Bolt's own re-invocation of this Lambda, whose queue may hold it that long), never logging the
    body of a rejected request; it also notes the bot's user id from the event's `authorizations`."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(signing_secret)
        self._verifier = SignatureVerifier(signing_secret, clock=_FunctionClock(clock))
        self._clock = clock

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        req.context["helpdesk_bot_user_id"] = bot_user_id_of(req.body)
        if self._can_skip(req.mode, req.body):  # Socket Mode: not signed, the connection is authenticated
            return next()
        reinvoked = req.lazy_only and is_reinvocation(req.context.get("lambda_request"))
        ok = signature_ok(
            self._verifier,
            req.raw_body,
            req.headers.get("x-slack-request-timestamp", [""])[0],
            req.headers.get("x-slack-signature", [""])[0],
            now=self._clock(),
            max_age=REINVOKE_MAX_AGE if reinvoked else SIGNATURE_MAX_AGE,
        )
        if ok:
            return next()
        log.debug("invalid Slack signature")
        return self._build_error_response()


def make_authorize(bot_token: str) -> Callable[..., AuthorizeResult]:
    """A single-workspace authorisation that makes no call: Bolt's default runs auth.test on the first request of
    every cold start, inside the 3-second ack."""

    def authorize(context: BoltContext, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot_token,
            bot_user_id=context.get("helpdesk_bot_user_id"),
        )

    return authorize


def build_app(
    bot: HelpdeskBot,
    *,
    signing_secret: str,
    bot_token: str,
    api_url: str = "",
    clock: Callable[[], float] = time.time,
    lazy_runner: LazyListenerRunner | None = None,
    logger: logging.Logger | None = None,
) -> App:
    """The app, constructed without any network call."""
    base_url = (api_url.rstrip("/") + "/") if api_url else WebClient.BASE_URL
    client = WebClient(base_url=base_url, timeout=10)
    bolt_logger = logger or logging.getLogger("helpdesk.slack.bolt")
    level = bolt_logger.level
    bolt_logger.setLevel(logging.ERROR)  # Bolt warns that SLACK_BOT_TOKEN (read from the env) is unused: it is
    app = App(
        name="helpdesk",
        client=client,
        signing_secret=signing_secret,
        authorize=make_authorize(bot_token),
        token_verification_enabled=False,  # no auth.test at construction (and `authorize` above: none later)
        request_verification_enabled=False,  # replaced by VerifyRequest, which runs first (before authorize)
        before_authorize=VerifyRequest(signing_secret, clock),
        ignoring_self_events_enabled=False,  # the matchers ignore every bot, ours included, without auth.test
        process_before_response=True,
        logger=bolt_logger,
    )
    bolt_logger.setLevel(level)
    if lazy_runner is not None:
        app.listener_runner.lazy_listener_runner = lazy_runner
    register(app, bot)
    return app


def register(app: App, bot: HelpdeskBot) -> None:
    policy = bot.config.policy

    def ack_now(ack: Callable[..., Any]) -> None:
        ack()

    # --- events --------------------------------------------------------------------------------------------
    def mention_matcher(event: dict) -> bool:
        return mention_candidate(event, policy)

    def message_matcher(event: dict, context: BoltContext) -> bool:
        return message_candidate(event, context.get("helpdesk_bot_user_id"), policy)

    def home_matcher(event: dict) -> bool:
        return event.get("tab") == "home" and bool(event.get("user"))

    def answer_mention(body: dict, context: BoltContext, client: WebClient) -> None:
        bot.answer_mention(body, context, client)

    def answer_message(body: dict, context: BoltContext, client: WebClient) -> None:
        bot.answer_message(body, context, client)

    def publish_home(body: dict, client: WebClient) -> None:
        bot.publish_home(body, client)

    app.event("app_mention", matchers=[mention_matcher])(ack=ack_now, lazy=[answer_mention])
    app.event("message", matchers=[message_matcher])(ack=ack_now, lazy=[answer_message])
    app.event("app_home_opened", matchers=[home_matcher])(ack=ack_now, lazy=[publish_home])
    app.event(re.compile(".*"))(ack_now)  # everything else: a 200 and nothing more (a 404 makes Slack retry)

    # --- /helpdesk -----------------------------------------------------------------------------------------
    def help_matcher(command: dict) -> bool:
        return parse_command(str(command.get("text", ""))).name == "help"

    def ack_help(ack: Callable[..., Any]) -> None:
        ack(text=messages.SLACK_HELP, blocks=bk.text_message(messages.SLACK_HELP)[1], response_type="ephemeral")

    def run_command(body: dict, client: WebClient, respond: Callable[..., Any]) -> None:
        interactions.run_command(bot, body, client, respond)

    app.command(COMMAND, matchers=[help_matcher])(ack_help)
    app.command(COMMAND)(ack=ack_now, lazy=[run_command])
    app.command(re.compile(".*"))(ack_now)  # a command this app does not own (a misrouted manifest): 200, ignored

    # --- buttons -------------------------------------------------------------------------------------------
    def record_feedback(body: dict, client: WebClient) -> None:
        interactions.on_feedback(bot, body, client)

    def open_ticket(body: dict, client: WebClient) -> None:
        interactions.on_open_ticket(bot, body, client)

    def resolve_ticket(body: dict, client: WebClient) -> None:
        interactions.on_resolve(bot, body, client)

    for action_id in (bk.ACTION_HELPFUL, bk.ACTION_NOT_HELPFUL):
        app.action(action_id)(ack=ack_now, lazy=[record_feedback])
    for action_id in (bk.ACTION_OPEN_TICKET, bk.ACTION_OPEN_TICKET_NOT_HELPFUL):
        app.action(action_id)(ack=ack_now, lazy=[open_ticket])
    app.action(bk.ACTION_RESOLVE)(ack=ack_now, lazy=[resolve_ticket])
