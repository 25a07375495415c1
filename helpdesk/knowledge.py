"""The knowledge loop, wired: the report over the interaction log (`helpdesk report`), the weekly digest
(`helpdesk digest`, `handler.digest_handler` on the EventBridge schedule).

The gaps are grouped with the embedder the index uses (HELPDESK_EMBEDDER: the local model, or Titan on AWS).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from assistant.interactions.base import system_clock
from assistant.interactions.digest import DigestResult, send_digest
from assistant.interactions.report import Report, build_report
from core.errors import ConfigError, HelpdeskError
from core.metrics import lambda_logger
from helpdesk.settings import Settings

MAX_DAYS = 3650
logger = lambda_logger()  # the scheduled functions' one Powertools logger


class DigestError(HelpdeskError):
    """The digest was emailed, but posting it to Slack failed."""


def check_days(value: Any) -> int:
    """A period in whole days, 1 to 3650; anything else raises ConfigError (exit 2) naming the value."""
    try:
        days = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"--days {value!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise ConfigError(f"--days {days} must be between 1 and {MAX_DAYS}")
    return days


def make_report(settings: Settings, days: int, *, store: Any = None, embedder: Any = None) -> Report:
    from helpdesk.factory import build_embedder, build_interaction_store

    now = system_clock()
    store = store if store is not None else build_interaction_store(settings)
    interactions = store.since(now - timedelta(days=days), now=now)
    return build_report(
        interactions,
        embedder if embedder is not None else build_embedder(settings, for_queries=True),
        period_days=days,
        similarity=settings.interactions.gap_similarity,
    )


def slack_poster(settings: Settings, *, token: str | None = None) -> Any:
    """text -> ts: chat.postMessage to HELPDESK_DIGEST_CHANNEL with the bot token; None when no channel is set."""
    channel = settings.interactions.digest_channel
    if not channel:
        return None
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    if token is None:
        from assistant.slack.secrets import load_credentials

        token = load_credentials(settings.slack).bot_token
    base_url = settings.slack.api_url.rstrip("/") + "/" if settings.slack.api_url else WebClient.BASE_URL
    client = WebClient(token=token, base_url=base_url)

    def post(text: str) -> str:
        try:
            response = client.chat_postMessage(channel=channel, text=text, unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            error = exc.response.get("error", "") if exc.response is not None else ""
            raise DigestError(f"the digest was emailed, but posting it to Slack {channel} failed: {error}") from exc
        except SlackClientError as exc:
            raise DigestError(f"the digest was emailed, but Slack could not be reached: {exc}") from exc
        return str(response.get("ts", ""))

    return post


def run_digest(settings: Settings, days: int, *, report: Report | None = None, mailer: Any = None) -> DigestResult:
    from helpdesk.factory import build_mailer

    report = report if report is not None else make_report(settings, days)
    return send_digest(
        report,
        mailer if mailer is not None else build_mailer(settings),
        sender=settings.mail.sender_email,
        it_queue=settings.mail.it_queue_email,
        post=slack_poster(settings),
    )


@logger.inject_lambda_context
def handle_digest(event: Any, context: Any) -> dict[str, Any]:
    """The scheduled digest Lambda: `{"days": N}` (default 7). Returns and logs the figures it sent."""
    event = event if isinstance(event, dict) else {}
    settings = Settings.from_env()
    days = check_days(event.get("days", 7))
    report = make_report(settings, days)
    result = run_digest(settings, days, report=report)
    summary = {**report.to_json(), **result.to_json()}
    summary = {k: v for k, v in summary.items() if k not in ("not_helpful_answers", "gaps", "top_pages")}
    summary["gaps"] = len(report.gaps)
    logger.info("weekly digest", extra={"event": "helpdesk_digest", **summary})
    return summary
