"""Slack credentials: env vars locally (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN), one Secrets Manager secret on AWS.

The secret (SLACK_SECRET_ARN) is JSON {"signing_secret": "...", "bot_token": "..."}, read through Powertools
Parameters (a SecretsProvider, cached for `SECRET_MAX_AGE`). It is fetched once per cold start (the runtime that
calls this is built once and cached) and its values never reach a log, an exception message or a repr.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.slack.config import SlackConfig
from assistant.slack.exceptions import SlackConfigError
from core.aws import error_code

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

SECRET_MAX_AGE = 24 * 3600  # seconds; longer than an execution environment usually lives: once per cold start


@dataclass(frozen=True)
class SlackCredentials:
    signing_secret: str = field(repr=False)
    bot_token: str = field(repr=False)
    source: str = "env"  # env | secretsmanager


def parse_secret(secret_string: str, arn: str) -> SlackCredentials:
    """The credentials in a secret's JSON (pure). Errors name the ARN and the missing keys, never a value."""
    try:
        data = json.loads(secret_string)
    except (TypeError, json.JSONDecodeError) as exc:
        raise SlackConfigError(f"Slack secret {arn} is not JSON; expected {{signing_secret, bot_token}}") from exc
    if not isinstance(data, dict):
        raise SlackConfigError(f"Slack secret {arn} is not a JSON object; expected {{signing_secret, bot_token}}")
    missing = [k for k in ("signing_secret", "bot_token") if not isinstance(data.get(k), str) or not data[k].strip()]
    if missing:
        raise SlackConfigError(f"Slack secret {arn} lacks {', '.join(missing)}")
    return SlackCredentials(data["signing_secret"].strip(), data["bot_token"].strip(), "secretsmanager")


@functools.cache
def secrets_provider() -> SecretsProvider:
    """The process's one SecretsProvider (and its cache), made on first use: Powertools Parameters and boto3 are
    imported only when a secret is read."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider()


def fetch_secret(arn: str, provider: SecretsProvider | None = None) -> str:
    """The secret's string, from the provider's cache or one GetSecretValue call; translated errors carry the ARN
    and the AWS error code only."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = (provider or secrets_provider()).get(arn, max_age=SECRET_MAX_AGE)
    except GetParameterError as exc:
        cause = exc.__cause__ or exc.__context__
        reason = error_code(cause) if cause is not None else ""
        raise SlackConfigError(
            f"cannot read the Slack secret {arn}: {reason or (cause or exc).__class__.__name__}"
        ) from exc
    if not isinstance(value, str):
        raise SlackConfigError(f"Slack secret {arn} has no SecretString (binary secrets are not supported)")
    return value


def load_credentials(config: SlackConfig, *, provider: SecretsProvider | None = None) -> SlackCredentials:
    """From Secrets Manager when SLACK_SECRET_ARN is set, else from SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN."""
    if config.secret_arn:
        return parse_secret(fetch_secret(config.secret_arn, provider), config.secret_arn)
    missing = [
        name
        for name, value in (
            ("SLACK_SIGNING_SECRET", config.signing_secret),
            ("SLACK_BOT_TOKEN", config.bot_token),
        )
        if not value
    ]
    if missing:
        raise SlackConfigError(f"set {' and '.join(missing)} (or SLACK_SECRET_ARN on AWS) to run the Slack app")
    return SlackCredentials(config.signing_secret, config.bot_token, "env")
