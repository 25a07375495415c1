"""The local mailer: RFC 5322 `.eml` files in an outbox folder (HELPDESK_HOME/outbox)."""

from __future__ import annotations

import os
import tempfile
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from assistant.exceptions import MailError
from assistant.mail.compose import EmailContent


def to_message(email: EmailContent) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = email.sender
    msg["To"] = ", ".join(email.to)
    msg["Subject"] = email.subject
    if email.reply_to:
        msg["Reply-To"] = ", ".join(email.reply_to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=email.sender.rpartition("@")[2] or "localhost")
    if email.ticket_id:
        msg["X-Helpdesk-Ticket"] = email.ticket_id
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    return msg


class OutboxMailer:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, email: EmailContent) -> str:
        msg = to_message(email)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stem = f"{email.ticket_id or 'mail'}-{msg['Message-ID'].strip('<>').split('@')[0]}"
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(msg.as_bytes())
            final = self.folder / f"{stem}.eml"
            os.replace(tmp, final)
        except OSError as exc:
            code = exc.__class__.__name__
            raise MailError(f"cannot write to the outbox {self.folder} ({code}): {exc}", code=code) from exc
        return str(final)
