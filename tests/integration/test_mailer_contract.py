"""One contract, two mailers: the outbox (.eml files) and SES v2 (moto), read back after sending."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.aws import SentMail, SesRecorder, read_outbox, ses_client
from fakes.clock import FakeClock

from assistant.exceptions import MailError
from assistant.mail.compose import MAX_QUESTION_IN_EMAIL, compose_requester_confirmation, compose_ticket_email
from assistant.mail.outbox import OutboxMailer
from assistant.mail.ses import SesMailer
from assistant.tickets.base import Ticket
from assistant.tickets.delivery import deliver
from assistant.tickets.sqlite import SqliteTicketStore
from assistant.tickets.sweep import run_sweep

SENDER = "helpdesk-bot@example.com"
IT = "it-support@example.com"


@dataclass
class MailBackend:
    name: str
    mailer: Any
    sent: Callable[[], list[SentMail]]
    break_sending: Callable[[], None]  # make every send fail the way this backend really fails
    repair: Callable[[], None]
    failure_code: str


@pytest.fixture(params=["outbox", "ses"])
def mail(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MailBackend]:
    if request.param == "outbox":
        folder = tmp_path / "outbox"
        blocker = tmp_path / "blocker"
        mailer = OutboxMailer(folder)

        def break_outbox() -> None:  # a path the mailer cannot create: its parent is a file
            blocker.write_text("not a folder")
            mailer.folder = blocker / "outbox"

        def repair_outbox() -> None:
            mailer.folder = folder

        yield MailBackend(
            "outbox", mailer, lambda: read_outbox(folder), break_outbox, repair_outbox, "NotADirectoryError"
        )
        return
    from moto import mock_aws

    with mock_aws():
        client = ses_client()
        recorder = SesRecorder(client)
        verified = {"on": True}

        def unverify() -> None:  # the sender identity is not (or no longer) verified
            if verified["on"]:
                client.delete_email_identity(EmailIdentity=SENDER)
                verified["on"] = False

        def verify() -> None:
            if not verified["on"]:
                client.create_email_identity(EmailIdentity=SENDER)
                verified["on"] = True

        client.create_email_identity(EmailIdentity=SENDER)
        yield MailBackend("ses", SesMailer(client), recorder.sent, unverify, verify, "MessageRejected")


def ticket(**kw: Any) -> Ticket:
    base: dict[str, Any] = dict(
        ticket_id="IT-7F3K2Q9M",
        question="My laptop shows “No bootable device” 💻 after the update",
        requester_id="U012AB3CD",
        requester_name="Zoë Ünal",
        requester_email="zoe@example.com",
        permalink="https://acme.slack.com/archives/C024BE91L/p1712345678000100",
        draft_answer="Hold F12 and choose the first disk [1].",
        sources=[{"page_id": "7", "title": "Boot & <BIOS>", "url": "https://wiki.example.test/7?a=1&b=2"}],
        confidence=0.31,
        created_at="2026-03-01T09:00:00Z",
        updated_at="2026-03-01T09:00:00Z",
    )
    base.update(kw)
    return Ticket(**base)


def test_the_it_email_carries_everything_needed_to_act(mail: MailBackend) -> None:
    mail.mailer.send(compose_ticket_email(ticket(), sender=SENDER, it_queue=IT))
    [m] = mail.sent()
    assert m.sender == SENDER and m.to == [IT] and m.reply_to == ["zoe@example.com"]
    assert m.subject == "[IT-7F3K2Q9M] My laptop shows “No bootable device” 💻 after the update"
    assert m.ticket_header == "IT-7F3K2Q9M"
    for part in (m.text, html.unescape(m.html)):
        assert "“No bootable device” 💻" in part and "Zoë Ünal <zoe@example.com>" in part
        assert "Hold F12 and choose the first disk [1]." in part and "0.31" in part
        assert "Boot & <BIOS>" in part
    assert "https://acme.slack.com/archives/C024BE91L/p1712345678000100" in m.text
    assert '<a href="https://acme.slack.com/archives/C024BE91L/p1712345678000100">Slack thread</a>' in m.html
    assert '<a href="https://wiki.example.test/7?a=1&amp;b=2">Boot &amp; &lt;BIOS&gt;</a>' in m.html


def test_html_in_the_question_is_escaped(mail: MailBackend) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'
    mail.mailer.send(compose_ticket_email(ticket(question=hostile), sender=SENDER, it_queue=IT))
    [m] = mail.sent()
    assert "<script>" not in m.html and "<img" not in m.html and "<b>bold" not in m.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in m.html
    assert hostile in m.text  # plain text shows it literally


def test_header_injection_in_the_question_stays_in_the_subject(mail: MailBackend) -> None:
    mail.mailer.send(
        compose_ticket_email(ticket(question="help\r\nBcc: attacker@evil.test\r\n\r\nx"), sender=SENDER, it_queue=IT)
    )
    [m] = mail.sent()
    assert m.to == [IT] and m.subject == "[IT-7F3K2Q9M] help Bcc: attacker@evil.test x"


def test_a_10000_character_question_is_truncated_with_a_note(mail: MailBackend) -> None:
    question = "é" * 10_000
    mail.mailer.send(compose_ticket_email(ticket(question=question), sender=SENDER, it_queue=IT))
    [m] = mail.sent()
    note = f"truncated to {MAX_QUESTION_IN_EMAIL} of 10000 characters; the full text is in ticket IT-7F3K2Q9M"
    assert note in m.text and note in m.html
    assert m.text.count("é") == MAX_QUESTION_IN_EMAIL and len(m.subject) <= 120


def test_the_requester_confirmation_names_the_ticket(mail: MailBackend) -> None:
    confirmation = compose_requester_confirmation(ticket(), sender=SENDER, it_queue=IT)
    assert confirmation is not None
    mail.mailer.send(confirmation)
    [m] = mail.sent()
    assert m.to == ["zoe@example.com"] and m.reply_to == [IT] and m.sender == SENDER
    assert m.subject.startswith("[IT-7F3K2Q9M] Your IT ticket: My laptop shows")
    for part in (m.text, html.unescape(m.html)):
        assert "Hi Zoë Ünal," in part and "as ticket IT-7F3K2Q9M" in part and "💻" in part
        assert "https://acme.slack.com/archives/C024BE91L/p1712345678000100" in part


@pytest.mark.parametrize("address", ["", "not-an-address", "Zoë <zoe@example.com>", "a@b.co\r\nBcc: x@evil.test"])
def test_without_a_usable_requester_email_only_it_is_emailed(mail: MailBackend, tmp_path: Path, address: str) -> None:
    store = SqliteTicketStore(tmp_path / "t.sqlite3")
    t = store.create(ticket(ticket_id="", requester_email=address, created_at="", updated_at=""))
    result = deliver(store, mail.mailer, t, sender=SENDER, it_queue=IT)
    assert result.outcome == "sent" and store.get(t.ticket_id).email_status == "sent"
    [m] = mail.sent()
    assert m.to == [IT] and m.reply_to == []


def test_failing_then_recovering_sends_exactly_once(mail: MailBackend, tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteTicketStore(tmp_path / "t.sqlite3", clock=clock.utc)
    t = store.create(ticket(ticket_id="", created_at="", updated_at=""))
    mail.break_sending()
    failed = deliver(store, mail.mailer, t, sender=SENDER, it_queue=IT)
    assert failed.outcome == "failed" and failed.ticket.email_status.startswith("failed: ")
    assert mail.failure_code in failed.ticket.email_status
    assert store.get(t.ticket_id).question == t.question  # the ticket is kept
    clock.advance(minutes=10)
    still = run_sweep(store, mail.mailer, sender=SENDER, it_queue=IT, clock=clock.utc)
    assert (still["owed"], still["sent"], still["failed"], still["failed_ids"]) == (1, 0, 1, [t.ticket_id])
    assert mail.sent() == []
    mail.repair()
    clock.advance(minutes=10)
    recovered = run_sweep(store, mail.mailer, sender=SENDER, it_queue=IT, clock=clock.utc)
    assert (recovered["sent"], recovered["failed"]) == (1, 0)
    clock.advance(minutes=10)
    assert run_sweep(store, mail.mailer, sender=SENDER, it_queue=IT, clock=clock.utc)["owed"] == 0
    sent = mail.sent()
    assert sorted(m.to[0] for m in sent) == [IT, "zoe@example.com"]  # each email exactly once
    assert store.get(t.ticket_id).email_status == "sent"


def test_send_failures_raise_mail_error(mail: MailBackend) -> None:
    mail.break_sending()
    with pytest.raises(MailError) as info:
        mail.mailer.send(compose_ticket_email(ticket(), sender=SENDER, it_queue=IT))
    assert info.value.code == mail.failure_code
    mail.repair()
    assert mail.sent() == []
