"""Slack credentials: env vars locally, one Secrets Manager secret on AWS (moto), fetched once, never shown."""

from __future__ import annotations

import json
import logging

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from fakes.lambda_context import LambdaContext
from moto import mock_aws

import assistant.slack.secrets as secrets_module
from assistant.slack.exceptions import SlackConfigError
from assistant.slack.secrets import SlackCredentials, load_credentials, parse_secret
from helpdesk import slack_lambda as aws
from helpdesk.settings import Settings

SIGNING = "s3cr3t-signing-value-0001"
BOT = "xoxb-s3cr3t-bot-token-0001"
CONTEXT = LambdaContext()


@pytest.fixture(autouse=True)
def fresh_provider():
    """Each test starts like a cold start: no cached secret, no client made outside its moto context."""
    provider = secrets_module.secrets_provider
    provider.cache_clear()
    yield
    provider.cache_clear()


def test_env_credentials(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
    creds = load_credentials(Settings.from_env().slack)
    assert (creds.signing_secret, creds.bot_token, creds.source) == (SIGNING, BOT, "env")
    assert SIGNING not in repr(creds) and BOT not in repr(creds)


def test_missing_env_credentials_name_the_variables():
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN"):
        load_credentials(Settings.from_env().slack)


def test_secrets_manager_credentials(monkeypatch):
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(
            Name="helpdesk/slack", SecretString=json.dumps({"signing_secret": SIGNING, "bot_token": BOT})
        )["ARN"]
        monkeypatch.setenv("SLACK_SECRET_ARN", arn)
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "ignored-when-the-arn-is-set")
        creds = load_credentials(Settings.from_env().slack)
    assert (creds.signing_secret, creds.bot_token, creds.source) == (SIGNING, BOT, "secretsmanager")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json", "is not JSON"),
        ("[1]", "not a JSON object"),
        (json.dumps({"signing_secret": SIGNING}), "lacks bot_token"),
        (json.dumps({"bot_token": BOT, "signing_secret": " "}), "lacks signing_secret"),
    ],
)
def test_bad_secret_contents_are_specific_and_never_echo_values(secret, message):
    with pytest.raises(SlackConfigError, match=message) as info:
        parse_secret(secret, "arn:aws:secretsmanager:us-east-1:1:secret:x")
    assert SIGNING not in str(info.value) and BOT not in str(info.value)


def test_missing_secret_is_a_clear_error(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("SLACK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope")
        with pytest.raises(SlackConfigError, match=r"cannot read the Slack secret .*ResourceNotFoundException"):
            load_credentials(Settings.from_env().slack)


def test_the_secret_is_fetched_once_per_cold_start(monkeypatch, tmp_path):
    calls = []

    class CountingSecrets:
        def get_secret_value(self, SecretId: str) -> dict:
            calls.append(SecretId)
            return {"SecretString": json.dumps({"signing_secret": SIGNING, "bot_token": BOT})}

    provider = SecretsProvider(boto3_client=CountingSecrets())
    monkeypatch.setattr(secrets_module, "secrets_provider", lambda: provider)
    monkeypatch.setenv("SLACK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:slack")
    aws.set_runtime(None)
    try:
        event = {"requestContext": {"http": {"method": "POST", "path": "/slack/events"}}, "body": "", "headers": {}}
        for _ in range(3):
            assert aws.lambda_handler(event, CONTEXT)["statusCode"] == 401  # unsigned; but the runtime is built
        aws.set_runtime(None)  # a new runtime in the same warm environment: the provider's cache answers
        assert aws.lambda_handler(event, CONTEXT)["statusCode"] == 401
        assert calls == ["arn:aws:secretsmanager:us-east-1:1:secret:slack"]
    finally:
        aws.set_runtime(None)


def test_the_secret_is_not_logged(monkeypatch, caplog):
    class Secrets:
        def get_secret_value(self, SecretId: str) -> dict:
            return {"SecretString": json.dumps({"signing_secret": SIGNING, "bot_token": BOT})}

    monkeypatch.setenv("SLACK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:slack")
    with caplog.at_level(logging.DEBUG):
        creds = load_credentials(Settings.from_env().slack, provider=SecretsProvider(boto3_client=Secrets()))
    assert creds.bot_token == BOT
    dump = "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert SIGNING not in dump and BOT not in dump


def test_misconfiguration_is_a_500_that_names_no_secret(caplog):
    aws.set_runtime(None)
    with caplog.at_level(logging.ERROR, logger="helpdesk.slack"):
        response = aws.lambda_handler({"body": "{}", "headers": {}}, CONTEXT)
    assert response["statusCode"] == 500
    assert any("SLACK_SIGNING_SECRET" in getattr(r, "error", "") for r in caplog.records)


def test_credentials_repr_hides_values():
    creds = SlackCredentials(SIGNING, BOT)
    assert SIGNING not in repr(creds) and BOT not in repr(creds) and "source='env'" in repr(creds)
