"""A mailer wrapper that fails on demand (for the local pairing of the delivery tests)."""

from __future__ import annotations

from assistant.exceptions import MailError
from assistant.mail.base import Mailer
from assistant.mail.compose import EmailContent


class FlakyMailer:
    """Delegates to a real mailer, except that queued failures raise MailError first (optionally only for one
    recipient), as a full disk or an unreachable SMTP relay would."""

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self.queue: list[tuple[str, str | None]] = []

    def fail(self, code: str, *, times: int = 1, to: str | None = None, **_: object) -> None:
        self.queue += [(code, to)] * times

    def send(self, email: EmailContent) -> str:
        for n, (code, to) in enumerate(self.queue):
            if to is None or to in email.to:
                del self.queue[n]
                raise MailError(f"injected failure ({code})", code=code)
        return self.inner.send(email)
