"""Settings of the mailer."""

from __future__ import annotations

from dataclasses import dataclass

from core import env as e


@dataclass(frozen=True)
class MailConfig:
    backend: str = "outbox"  # outbox | ses (ses is the default when TICKETS_TABLE is set)
    it_queue_email: str = "it-support@example.com"
    sender_email: str = "helpdesk-bot@example.com"

    @classmethod
    def from_env(cls, env: e.Env) -> MailConfig:
        default = "ses" if e.text(env, "TICKETS_TABLE") else "outbox"
        return cls(
            backend=e.choice(env, "HELPDESK_EMAIL_BACKEND", default, ("outbox", "ses")),
            it_queue_email=e.text(env, "HELPDESK_IT_EMAIL", "it-support@example.com"),
            sender_email=e.text(env, "HELPDESK_SENDER_EMAIL", "helpdesk-bot@example.com"),
        )
