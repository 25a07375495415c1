"""Everything the Slack entry points need, built once per process (a Lambda cold start, a `helpdesk serve`).

Building makes no network call except, on AWS, the one Secrets Manager read. The answering pipeline and the
ticket desk are built lazily by the worker the first time it needs them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.lazy_listener import LazyListenerRunner

from assistant.slack.app import build_app
from assistant.slack.bot import BotConfig, HelpdeskBot, TicketDesk
from assistant.slack.events import ChannelPolicy
from assistant.slack.gateway import SlackGateway
from assistant.slack.secrets import SlackCredentials, load_credentials
from assistant.slack.store import EventLedger, FeedbackStore
from helpdesk.settings import Settings

SERVICE = "helpdesk.slack"
_logging_lock = threading.Lock()
_logger: Any = None


def configure_logging() -> Any:
    """Powertools JSON logging for the "helpdesk.slack" logger tree, once per process (level: POWERTOOLS_LOG_LEVEL
    or LOG_LEVEL, default INFO). Bolt's own logger is kept at WARNING: it would log request bodies at INFO."""
    global _logger
    with _logging_lock:
        if _logger is None:
            from aws_lambda_powertools import Logger

            _logger = Logger(service=SERVICE)
            logging.getLogger(f"{SERVICE}.bolt").setLevel(logging.WARNING)
        return _logger


def build_store(settings: Settings, clock: Callable[[], float] = time.time) -> Any:
    """DynamoDB when HELPDESK_DEDUPE_TABLE is set, else SQLite under HELPDESK_HOME (the one place that picks)."""
    if settings.slack.dedupe_table:
        from assistant.slack.dynamo_store import DynamoSlackStore

        return DynamoSlackStore(settings.slack.dedupe_table, clock=clock)
    from assistant.slack.store import SqliteSlackStore

    return SqliteSlackStore(settings.home / "slack.sqlite3", clock=clock)


def default_assistant(settings: Settings) -> Callable[[], Any]:
    def build() -> Any:
        from helpdesk.factory import build_assistant

        return build_assistant(settings)

    return build


def default_desk(settings: Settings) -> Callable[[], TicketDesk]:
    """Tickets and email without the index: `Assistant.open_ticket` uses only the ticket store and the mailer."""

    def build() -> TicketDesk:
        from assistant.service import Assistant
        from helpdesk.factory import build_mailer, build_ticket_store

        return Assistant(
            None,  # type: ignore[arg-type]  # retriever, answerer and gate are unused by open_ticket
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            build_ticket_store(settings),
            build_mailer(settings),
            it_queue_email=settings.mail.it_queue_email,
            sender_email=settings.mail.sender_email,
        )

    return build


@dataclass
class SlackRuntime:
    settings: Settings
    app: App
    bot: HelpdeskBot
    gateway: SlackGateway

    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        return self.gateway.handle(event, context)


def lambda_lazy_runner(logger: Any, lambda_client: Any, worker_function: str = "") -> LazyListenerRunner:
    """Bolt's Lambda runner: re-invokes this function asynchronously with the signed request, or, when
    HELPDESK_SLACK_WORKER_FUNCTION names a worker Lambda (`handler.worker_handler`), invokes that one instead."""
    from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

    class Runner(LambdaLazyListenerRunner):
        def start(self, function: Callable[..., None], request: Any) -> None:
            if worker_function:
                request.context["aws_lambda_invoked_function_arn"] = worker_function
            super().start(function, request)

    return Runner(logger, lambda_client=lambda_client)


def build_runtime(
    settings: Settings,
    *,
    credentials: SlackCredentials | None = None,
    store: Any | None = None,
    assistant: Callable[[], Any] | None = None,
    desk: Callable[[], TicketDesk] | None = None,
    lazy_runner: LazyListenerRunner | None = None,
    lambda_client: Any | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> SlackRuntime:
    """`lazy_runner=None` means AWS: lazy listeners re-invoke this Lambda asynchronously (`lambda_client`)."""
    configure_logging()
    creds = credentials or load_credentials(settings.slack)
    state = store if store is not None else build_store(settings, clock)
    ledger: EventLedger = state
    feedback: FeedbackStore = state
    config = BotConfig(
        policy=ChannelPolicy(
            settings.slack.channel_allowlist, settings.slack.mention_only_channels, settings.slack.disabled_channels
        ),
        it_group=settings.slack.it_group,
        it_email=settings.mail.it_queue_email,
    )
    bot = HelpdeskBot(
        config,
        ledger=ledger,
        feedback=feedback,
        assistant=assistant or default_assistant(settings),
        desk=desk or default_desk(settings),
        sleep=sleep,
        clock=clock,
    )
    app = build_app(
        bot, signing_secret=creds.signing_secret, bot_token=creds.bot_token, api_url=settings.slack.api_url, clock=clock
    )
    handler = SlackRequestHandler(app)  # installs Bolt's LambdaLazyListenerRunner
    if lazy_runner is not None:
        app.listener_runner.lazy_listener_runner = lazy_runner
    else:
        import boto3

        # created now, in the init phase, rather than inside the first ack
        client = lambda_client or boto3.client("lambda")
        app.listener_runner.lazy_listener_runner = lambda_lazy_runner(
            app.logger, client, settings.slack.worker_function
        )
    return SlackRuntime(settings, app, bot, SlackGateway(handler, creds.signing_secret, clock=clock))
