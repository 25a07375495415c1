"""What the scheduled re-index needs from the ingest side: the Confluence credentials from a Secrets Manager
secret (`{"user": ..., "token": ...}`, read once per cold start) and the name of the failure alarm. The function
itself is wired in `helpdesk.scheduled`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ingest.exceptions import SourceError

ALARM = "helpdesk-ingest-failed"
_SECRETS: dict[str, tuple[str, str]] = {}  # secret ARN -> (user, token), once per cold start


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


def confluence_credentials(arn: str, client: Any | None = None) -> tuple[str, str]:
    if arn not in _SECRETS:
        from botocore.exceptions import BotoCoreError, ClientError

        if client is None:
            import boto3

            client = boto3.client("secretsmanager")
        try:
            text = client.get_secret_value(SecretId=arn)["SecretString"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SourceError(
                f"cannot read the Confluence secret {arn} ({code}): the role needs secretsmanager:GetSecretValue"
            ) from exc
        except (BotoCoreError, KeyError) as exc:
            raise SourceError(f"cannot read the Confluence secret {arn}: {exc}") from exc
        _SECRETS[arn] = parse_secret(text, arn)
    return _SECRETS[arn]
