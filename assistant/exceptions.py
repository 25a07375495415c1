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


class MailError(AssistantError):
    """Sending email failed (the ticket itself is already saved)."""
