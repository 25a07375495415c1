"""What the scheduled re-index needs from the ingest side: the Confluence credentials from a Secrets Manager
secret (`{"user": ..., "token": ...}`, read through Powertools Parameters and cached for `SECRET_MAX_AGE`: once
per cold start) and the name of the failure alarm. The function itself is wired in `helpdesk.scheduled`."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from core.aws import error_code
from ingest.exceptions import SourceError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

ALARM = "helpdesk-ingest-failed"
SECRET_MAX_AGE = 24 * 3600  # seconds; longer than an execution environment usually lives: once per cold start


def parse_secret(text: str, arn: str) -> tuple[str, str]:
    """(user, token) from the secret's JSON string (pure). `user` is empty for Server/DC personal tokens."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SourceError(f'Confluence secret {arn} is not JSON; expected {{"user": ..., "token": ...}}') from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("token"), str) or not doc["token"].strip():
        raise SourceError(f'Confluence secret {arn} has no "token"; expected {{"user": ..., "token": ...}}')
    user = doc.get("user") or ""
    if not isinstance(user, str):
        raise SourceError(f'Confluence secret {arn}: "user" must be a string (the account email, Cloud only)')
    return user.strip(), doc["token"].strip()


@functools.cache
def secrets_provider() -> SecretsProvider:
    """The process's one SecretsProvider (and its cache), made on first use."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider()


def confluence_credentials(arn: str, provider: SecretsProvider | None = None) -> tuple[str, str]:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        text = (provider or secrets_provider()).get(arn, max_age=SECRET_MAX_AGE)
    except GetParameterError as exc:
        cause = exc.__cause__ or exc.__context__
        code = error_code(cause) if cause is not None else ""
        if code:
            raise SourceError(
                f"cannot read the Confluence secret {arn} ({code}): the role needs secretsmanager:GetSecretValue"
            ) from exc
        raise SourceError(f"cannot read the Confluence secret {arn}: {cause or exc}") from exc
    return parse_secret(text, arn)
