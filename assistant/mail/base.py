"""The `Mailer` protocol."""

from __future__ import annotations

from typing import Protocol

from assistant.mail.compose import EmailContent


class Mailer(Protocol):
    """Sends one composed email; returns a delivery id. Raises `MailError` on failure."""

    def send(self, email: EmailContent) -> str: ...
