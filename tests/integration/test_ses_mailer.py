"""SesMailer specifics: the SendEmail request, error translation, and botocore's endpoint overrides."""

from __future__ import annotations

import socket

import pytest
from fakes.aws import SesFaults, moto_server, ses_client, ses_core_backend

from assistant.exceptions import MailError
from assistant.mail.compose import EmailContent
from assistant.mail.ses import SesMailer, build_send_email_request, describe_failure
from helpdesk.settings import Settings

SENDER = "helpdesk-bot@example.com"


def email(subject: str = "[IT-1] Printer") -> EmailContent:
    return EmailContent(
        sender=SENDER,
        to=("it@example.com",),
        subject=subject,
        text="plain ✓",
        html="<p>html ✓</p>",
        ticket_id="IT-1",
        reply_to=("zoe@example.com",),
    )


def test_the_request_is_simple_content_with_text_and_html() -> None:
    request = build_send_email_request(email(), configuration_set="helpdesk")
    simple = request["Content"]["Simple"]
    assert simple["Subject"] == {"Data": "[IT-1] Printer", "Charset": "UTF-8"}
    assert simple["Body"] == {
        "Text": {"Data": "plain ✓", "Charset": "UTF-8"},
        "Html": {"Data": "<p>html ✓</p>", "Charset": "UTF-8"},
    }
    assert simple["Headers"] == [{"Name": "X-Helpdesk-Ticket", "Value": "IT-1"}]
    assert request["FromEmailAddress"] == SENDER and request["Destination"] == {"ToAddresses": ["it@example.com"]}
    assert request["ReplyToAddresses"] == ["zoe@example.com"] and request["ConfigurationSetName"] == "helpdesk"
    assert request["EmailTags"] == [{"Name": "ticket_id", "Value": "IT-1"}]


def test_failures_are_described_by_kind() -> None:
    assert describe_failure("TooManyRequestsException", "slow down").startswith("SES is throttling sends")
    assert "sender identity verified" in describe_failure("MessageRejected", "Email address not verified")
    assert describe_failure("InternalFailure", "", 500) == "SES is unavailable (InternalFailure)"
    assert describe_failure("Weird", "x", 400) == "SES refused the request (Weird): x"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("TooManyRequestsException", 429, "throttling"),
        ("LimitExceededException", 400, "throttling"),
        ("SendingPausedException", 400, "rejected"),
        ("InternalFailure", 500, "unavailable"),
        ("ServiceUnavailable", 503, "unavailable"),
    ],
)
def test_ses_error_codes_become_mail_errors_with_the_code(code: str, status: int, kind: str) -> None:
    from moto import mock_aws

    with mock_aws():
        client = ses_client()
        client.create_email_identity(EmailIdentity=SENDER)
        faults = SesFaults(client)
        faults.fail(code, status=status)
        mailer = SesMailer(client)
        with pytest.raises(MailError, match=kind) as info:
            mailer.send(email())
        assert info.value.code == code and code in str(info.value)
        assert ses_core_backend().sent_messages == []
        mailer.send(email())  # the next call goes through
        assert len(ses_core_backend().sent_messages) == 1


def test_an_unverified_sender_is_message_rejected() -> None:
    from moto import mock_aws

    with mock_aws():
        mailer = SesMailer(ses_client())
        with pytest.raises(MailError, match="not verified") as info:
            mailer.send(email())
        assert info.value.code == "MessageRejected"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_endpoint_is_an_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    mailer = SesMailer.from_config(Settings.from_env().mail)
    with pytest.raises(MailError, match="SES is unreachable") as info:
        mailer.send(email())
    assert info.value.code == "EndpointConnectionError"


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL"])
def test_the_endpoint_overrides_are_honoured(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    with moto_server() as endpoint:
        ses_client(endpoint).create_email_identity(EmailIdentity=SENDER)
        monkeypatch.setenv(variable, endpoint)
        subject = f"[IT-1] sent through {variable}"
        message_id = SesMailer.from_config(Settings.from_env().mail).send(email(subject))
        [stored] = [m for m in ses_core_backend().sent_messages if m.subject == subject]
        assert stored.id == message_id and stored.destinations["ToAddresses"] == ["it@example.com"]
