"""The Bolt app: authorisation without a network call, ack functions and lazy listeners.

Every listener acks at once (`process_before_response=True`, so the ack is the HTTP response) and hands the work
to a lazy function: on Lambda Bolt's LambdaLazyListenerRunner re-invokes the function asynchronously with the
signed request; locally (serve, Socket Mode, tests) Bolt's thread runner runs it. Matchers are pure, so events the
bot will not answer (other bots, edits, channels it is off in, top-level chatter) are acked without starting any
work. HTTP requests reach the app through `assistant.slack.gateway`, which verifies the signature and parses the
body (Bolt's own verification is off); Socket Mode requests are not signed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_sdk import WebClient

from assistant import messages
from assistant.slack import blocks as bk
from assistant.slack import interactions
from assistant.slack.bot import HelpdeskBot
from assistant.slack.events import bot_user_id_of, mention_candidate, message_candidate, parse_command

COMMAND = "/helpdesk"
log = logging.getLogger("helpdesk.slack")


def note_bot_user_id(context: BoltContext, body: dict, next: Callable[[], BoltResponse]) -> BoltResponse:
    """Before authorisation: the bot's user id from the event's `authorizations` (the gateway notes it for HTTP
    requests already; Socket Mode requests come here without it)."""
    if context.get("helpdesk_bot_user_id") is None:
        context["helpdesk_bot_user_id"] = bot_user_id_of(body)
    return next()


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
    bot_token: str,
    api_url: str = "",
    lazy_runner: LazyListenerRunner | None = None,
    logger: logging.Logger | None = None,
) -> App:
    """The app, constructed without any network call. `lazy_runner` runs the lazy listeners (Bolt's
    LambdaLazyListenerRunner on AWS, `assistant.slack.lazy.ThreadedLazyRunner` locally)."""
    base_url = (api_url.rstrip("/") + "/") if api_url else WebClient.BASE_URL
    client = WebClient(base_url=base_url, timeout=10)
    bolt_logger = logger or logging.getLogger("helpdesk.slack.bolt")
    level = bolt_logger.level
    bolt_logger.setLevel(logging.ERROR)  # Bolt warns that SLACK_BOT_TOKEN (read from the env) is unused: it is
    app = App(
        name="helpdesk",
        client=client,
        authorize=make_authorize(bot_token),
        token_verification_enabled=False,  # no auth.test at construction (and `authorize` above: none later)
        request_verification_enabled=False,  # the gateway verifies every HTTP request, once, before Bolt sees it
        before_authorize=note_bot_user_id,
        ignoring_self_events_enabled=False,  # the matchers ignore every bot, ours included, without auth.test
        process_before_response=True,
        logger=bolt_logger,
    )
    bolt_logger.setLevel(level)
    if lazy_runner is not None:
        app.listener_runner.lazy_listener_runner = lazy_runner  # as Bolt's own adapters install theirs
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

    def resolve_submitted(body: dict, client: WebClient) -> None:
        interactions.on_resolve_submission(bot, body, client)

    app.view(bk.RESOLVE_MODAL)(ack=ack_now, lazy=[resolve_submitted])  # the ack closes the modal
