"""Email through Amazon SES v2 `SendEmail`: Simple content with a Text and an Html part.

The request is built by a pure function; the one I/O call is `sesv2.send_email`. Endpoints follow botocore's
standard overrides (AWS_ENDPOINT_URL_SESV2, then AWS_ENDPOINT_URL). Every failure becomes a `MailError` whose
`code` is the SES error code (or the connection error's class name), so the caller can record it on the ticket.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from assistant.exceptions import MailError
from assistant.mail.compose import EmailContent
from core.aws import LazyClient, error_code, error_message, http_status

if TYPE_CHECKING:
    from assistant.mail.config import MailConfig

THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"})
REJECTED = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "NotFoundException",
        "BadRequestException",
        "InvalidParameterValue",
    }
)
_TAG_VALUE = re.compile(r"[^A-Za-z0-9_-]")


def build_send_email_request(email: EmailContent, *, configuration_set: str = "") -> dict[str, Any]:
    """The SendEmail arguments for one composed email (pure)."""
    request: dict[str, Any] = {
        "FromEmailAddress": email.sender,
        "Destination": {"ToAddresses": list(email.to)},
        "Content": {
            "Simple": {
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": email.text, "Charset": "UTF-8"},
                    "Html": {"Data": email.html, "Charset": "UTF-8"},
                },
            }
        },
    }
    if email.reply_to:
        request["ReplyToAddresses"] = list(email.reply_to)
    if email.ticket_id:
        request["Content"]["Simple"]["Headers"] = [{"Name": "X-Helpdesk-Ticket", "Value": email.ticket_id}]
        request["EmailTags"] = [{"Name": "ticket_id", "Value": _TAG_VALUE.sub("_", email.ticket_id)[:256]}]
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return request


def describe_failure(code: str, message: str, status: int | None = None) -> str:
    """A one-line reason for a failed send (pure): what happened, the code, and SES's message."""
    if code in THROTTLED:
        kind = "SES is throttling sends"
    elif code in REJECTED:
        kind = "SES rejected the message (is the sender identity verified and out of the sandbox?)"
    elif (status or 0) >= 500 or code in ("InternalFailure", "ServiceUnavailable", "InternalServerError"):
        kind = "SES is unavailable"
    else:
        kind = "SES refused the request"
    return f"{kind} ({code}): {message}".rstrip(": ")


class SesMailer:
    def __init__(self, client: Any | None = None, *, configuration_set: str = "") -> None:
        self._sesv2 = LazyClient.for_service(
            "sesv2",
            client,
            options={"retries": {"mode": "standard", "max_attempts": 3}, "connect_timeout": 3, "read_timeout": 10},
        )
        self.configuration_set = configuration_set

    @classmethod
    def from_config(cls, config: MailConfig) -> SesMailer:
        return cls()

    @property
    def client(self) -> Any:
        return self._sesv2.get()

    def send(self, email: EmailContent) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        request = build_send_email_request(email, configuration_set=self.configuration_set)
        try:
            response = self.client.send_email(**request)
        except ClientError as exc:
            code = error_code(exc) or "ClientError"
            raise MailError(describe_failure(code, error_message(exc), http_status(exc)), code=code) from exc
        except BotoCoreError as exc:
            code = exc.__class__.__name__
            raise MailError(f"SES is unreachable ({code}): {exc}", code=code) from exc
        return str(response.get("MessageId", ""))
