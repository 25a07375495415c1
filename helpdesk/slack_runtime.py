"""Everything the Slack entry points need, built once per process (a Lambda cold start, a `helpdesk serve`).

Building makes no network call except, on AWS, the one Secrets Manager read. The answering pipeline and the
ticket desk are built lazily by the worker the first time it needs them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from slack_bolt import App
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner  # imports boto3: at init
from slack_bolt.lazy_listener import LazyListenerRunner

from assistant.interactions.slack import RecordingSlackStore
from assistant.slack.app import build_app
from assistant.slack.bot import BotConfig, HelpdeskBot, TicketDesk
from assistant.slack.events import ChannelPolicy
from assistant.slack.gateway import SlackGateway
from assistant.slack.secrets import SlackCredentials, load_credentials
from assistant.slack.store import EventLedger, FeedbackStore
from helpdesk.settings import Settings

SERVICE = "helpdesk.slack"

# The Slack service's one Powertools JSON logger: the "helpdesk.slack" logger tree every Slack module logs to
# (level: POWERTOOLS_LOG_LEVEL or LOG_LEVEL, default INFO). Bolt's own logger is kept at WARNING: it would log
# request bodies at INFO.
logger = Logger(service=SERVICE)
logging.getLogger(f"{SERVICE}.bolt").setLevel(logging.WARNING)


def configure_logging() -> Logger:
    """The Slack service's logger (built when this module is imported); kept for the entry points and benchmarks
    that ask for it."""
    return logger


def build_store(settings: Settings, clock: Callable[[], float] = time.time) -> Any:
    """DynamoDB when HELPDESK_DEDUPE_TABLE is set, else SQLite under HELPDESK_HOME (the one place that picks)."""
    if settings.slack.dedupe_table:
        from assistant.slack.dynamo_store import DynamoSlackStore

        return DynamoSlackStore(settings.slack.dedupe_table, clock=clock)
    from assistant.slack.store import SqliteSlackStore

    return SqliteSlackStore(settings.home / "slack.sqlite3", clock=clock)


def _interaction_log(settings: Settings) -> Any:
    from helpdesk.factory import build_interaction_log

    return build_interaction_log(settings)


def default_assistant(settings: Settings) -> Callable[[], Any]:
    def build() -> Any:
        from helpdesk.factory import build_assistant

        return build_assistant(settings)

    return build


def default_desk(settings: Settings) -> Callable[[], TicketDesk]:
    """Tickets and email without the index."""

    def build() -> TicketDesk:
        from helpdesk.factory import build_ticket_desk

        return build_ticket_desk(settings, notify_requester=True)  # HELPDESK_NOTIFY_REQUESTER is not read here

    return build


@dataclass
class SlackRuntime:
    settings: Settings
    app: App
    bot: HelpdeskBot
    gateway: SlackGateway

    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        return self.gateway.handle(event, context)


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
    """`lazy_runner=None` means AWS: lazy listeners re-invoke this Lambda asynchronously (`lambda_client`), or the
    worker Lambda HELPDESK_SLACK_WORKER_FUNCTION names (`handler.worker_handler`)."""
    creds = credentials or load_credentials(settings.slack)
    state = store if store is not None else build_store(settings, clock)
    state = RecordingSlackStore(state, lambda: _interaction_log(settings))  # every answer and vote, for the report
    ledger: EventLedger = state
    feedback: FeedbackStore = state
    config = BotConfig(
        policy=ChannelPolicy(
            settings.slack.channel_allowlist, settings.slack.mention_only_channels, settings.slack.disabled_channels
        ),
        it_group=settings.slack.it_group,
        it_email=settings.mail.it_queue_email,
        allow_guests=settings.slack.allow_guests,
        allow_external=settings.slack.allow_external,
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
    if lazy_runner is None:
        import boto3

        # the client is created now, in the init phase, rather than inside the first ack
        bolt_logger = logging.getLogger(f"{SERVICE}.bolt")
        lazy_runner = LambdaLazyListenerRunner(bolt_logger, lambda_client=lambda_client or boto3.client("lambda"))
    app = build_app(bot, bot_token=creds.bot_token, api_url=settings.slack.api_url, lazy_runner=lazy_runner)
    gateway = SlackGateway(app, creds.signing_secret, clock=clock, invoke_target=settings.slack.worker_function)
    return SlackRuntime(settings, app, bot, gateway)
