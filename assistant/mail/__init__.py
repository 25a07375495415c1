"""Email to the IT queue (and the requester): composed once, sent by a `Mailer`."""

from assistant.mail.base import Mailer
from assistant.mail.compose import EmailContent, compose_ticket_email

__all__ = ["EmailContent", "Mailer", "compose_ticket_email"]
