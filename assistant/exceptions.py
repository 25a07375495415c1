"""Errors raised while answering."""

from helpdesk.errors import HelpdeskError


class AssistantError(HelpdeskError):
    """Base of all answering errors."""


class InvalidQuestion(AssistantError):
    """The question is empty, too long, or otherwise unusable."""

    exit_code = 2


class TicketError(AssistantError):
    """The ticket store failed."""


class TicketNotFound(TicketError):
    """No ticket with that id."""


class InvalidTransition(TicketError):
    """The ticket's status cannot move to the one asked for (e.g. closed -> resolved)."""

    exit_code = 2


class MailError(AssistantError):
    """Sending email failed (the ticket itself is already saved).

    `code` names the cause when the backend gives one (an SES error code such as `MessageRejected` or
    `TooManyRequestsException`, or a connection error's class name); it is also recorded in `email_status`.
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code
