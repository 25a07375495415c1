"""The scheduled digest end to end through `handler.digest_handler`: interactions read from DynamoDB by day (moto
in-process), gaps grouped with the configured embedder, the email sent through SES to the IT queue, and the digest
posted to HELPDESK_DIGEST_CHANNEL through the real slack_sdk client against the local Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fakes.aws import ses_core_backend
from fakes.lambda_context import LambdaContext
from fakes.slack_api import TOKEN, FakeSlackApi

import handler
from assistant.interactions.base import new_interaction
from assistant.interactions.dynamodb import DynamoInteractionStore, table_definition
from helpdesk.knowledge import DigestError, run_digest
from helpdesk.settings import Settings

TABLE = "it-helpdesk-interactions"
SENDER, IT = "helpdesk-bot@example.com", "it-support@example.com"
QUESTIONS = [
    ("How do I increase my pension contributions?", "ticket", "IT-AAAA2222"),
    ("Can I pay more into the pension scheme?", "ticket", "IT-BBBB3333"),
    ("how do I reset my okta password?", "answer", None),
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition(TABLE))
        store = DynamoInteractionStore(TABLE, client=client)
        now = datetime.now(UTC)
        for question, decision, ticket in QUESTIONS:
            sources = [{"page_id": "100202", "title": "Resetting your MFA device", "url": "https://wiki/100202"}]
            store.record(
                new_interaction(
                    origin="dm", question=question, decision=decision, now=now, retention_days=90, ticket_id=ticket,
                    sources=sources if decision == "answer" else (),
                )
            )  # fmt: skip
        boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity=SENDER)
        for key, value in {
            "INTERACTIONS_TABLE": TABLE,
            "HELPDESK_EMAIL_BACKEND": "ses",
            "HELPDESK_EMBEDDER": "local",
            "HELPDESK_SENDER_EMAIL": SENDER,
            "HELPDESK_IT_EMAIL": IT,
        }.items():
            monkeypatch.setenv(key, value)
        yield


def test_the_scheduled_digest_emails_it_and_posts_to_the_digest_channel(aws, monkeypatch):
    with FakeSlackApi() as slack:
        monkeypatch.setenv("HELPDESK_DIGEST_CHANNEL", "C0ITDIGEST")
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "not-used-here")
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        summary = handler.digest_handler({"days": 7}, LambdaContext(function_name="it-helpdesk-digest"))

        [posted] = slack.calls("chat.postMessage")
    assert posted.params["channel"] == "C0ITDIGEST" and posted.token == TOKEN
    assert "pension" in posted.params["text"]
    assert (summary["questions"], summary["tickets"], summary["gaps"]) == (3, 2, 1)
    assert summary["slack_ts"]
    [mail] = ses_core_backend().sent_messages
    assert mail.source == SENDER and mail.destinations["ToAddresses"] == [IT]
    assert "digest" in mail.subject.lower()
    assert "pension" in mail.body and "IT-AAAA2222" in mail.body and "Resetting your MFA device" in mail.body


def test_without_a_digest_channel_only_the_email_goes_out(aws):
    result = run_digest(Settings.from_env(), 7)
    assert result.slack_ts == "" and result.email_id
    assert len(ses_core_backend().sent_messages) == 1


def test_a_slack_failure_says_the_email_went_out_and_names_the_channel(aws, monkeypatch):
    with FakeSlackApi() as slack:
        slack.fail("chat.postMessage", "channel_not_found")
        monkeypatch.setenv("HELPDESK_DIGEST_CHANNEL", "C0GONE")
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "not-used-here")
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        with pytest.raises(DigestError, match=r"emailed.*C0GONE.*channel_not_found"):
            run_digest(Settings.from_env(), 7)
    assert len(ses_core_backend().sent_messages) == 1
