"""Settings of the Slack app."""

from __future__ import annotations

from dataclasses import dataclass, field

from core import env as e


@dataclass(frozen=True)
class SlackConfig:
    signing_secret: str = field(default="", repr=False)
    bot_token: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)  # Socket Mode only
    secret_arn: str = ""  # Secrets Manager JSON {"signing_secret": ..., "bot_token": ...}
    api_url: str = ""  # override https://slack.com/api/ (tests and local fakes)
    dedupe_table: str = ""  # DynamoDB table for event dedupe and feedback (TTL attribute "expires_at")
    it_group: tuple[str, ...] = ()  # Slack user ids (U...) or a user group id (S...) allowed to resolve tickets
    channel_allowlist: tuple[str, ...] = ()  # empty: every channel the bot is in
    mention_only_channels: tuple[str, ...] = ()
    disabled_channels: tuple[str, ...] = ()
    worker_function: str = ""  # a separate worker Lambda for the lazy answers (default: this function)
    allow_guests: bool = False  # answer guest accounts (users.info is_restricted / is_ultra_restricted)
    allow_external: bool = False  # answer people from other organisations in Slack Connect channels

    @classmethod
    def from_env(cls, env: e.Env) -> SlackConfig:
        return cls(
            signing_secret=e.text(env, "SLACK_SIGNING_SECRET"),
            bot_token=e.text(env, "SLACK_BOT_TOKEN"),
            app_token=e.text(env, "SLACK_APP_TOKEN"),
            secret_arn=e.text(env, "SLACK_SECRET_ARN"),
            api_url=e.text(env, "SLACK_API_URL"),
            dedupe_table=e.text(env, "HELPDESK_DEDUPE_TABLE"),
            it_group=e.csv(env, "HELPDESK_IT_GROUP"),
            channel_allowlist=e.csv(env, "HELPDESK_CHANNEL_ALLOWLIST"),
            mention_only_channels=e.csv(env, "HELPDESK_MENTION_ONLY_CHANNELS"),
            disabled_channels=e.csv(env, "HELPDESK_DISABLED_CHANNELS"),
            worker_function=e.text(env, "HELPDESK_SLACK_WORKER_FUNCTION"),
            allow_guests=e.flag(env, "HELPDESK_SLACK_ALLOW_GUESTS", False),
            allow_external=e.flag(env, "HELPDESK_SLACK_ALLOW_EXTERNAL", False),
        )
