import email
from email import policy
from pathlib import Path

from assistant.mail.compose import MAX_SUBJECT, compose_ticket_email, safe_subject
from assistant.mail.outbox import OutboxMailer
from assistant.tickets.base import Ticket


def ticket(**kw) -> Ticket:
    base = dict(
        ticket_id="IT-ABCD1234",
        question="How do I expense my home internet?",
        requester_name="Ana",
        draft_answer="From Expenses [1]: ...",
        sources=[{"page_id": "1", "title": "Travel & <Expenses>", "url": "https://wiki/x?a=1&b=2", "score": 0.4}],
        confidence=0.21,
    )
    base.update(kw)
    return Ticket(**base)


def test_subject_strips_cr_lf_and_is_bounded() -> None:
    s = safe_subject("IT-1", "help\r\nBcc: attacker@evil.test\n" + "x" * 500)
    assert "\n" not in s and "\r" not in s and len(s) <= MAX_SUBJECT
    assert s.startswith("[IT-1] help Bcc: attacker@evil.test")


def test_html_in_question_is_escaped_and_sources_are_links() -> None:
    e = compose_ticket_email(ticket(question="<script>alert(1)</script> vpn"), sender="bot@x", it_queue="it@x")
    assert "<script>" not in e.html and "&lt;script&gt;" in e.html
    assert '<a href="https://wiki/x?a=1&amp;b=2">Travel &amp; &lt;Expenses&gt;</a>' in e.html
    assert "Travel & <Expenses> - https://wiki/x?a=1&b=2" in e.text
    assert e.to == ("it@x",) and "0.21" in e.text and "Ana" in e.text


def test_long_question_is_truncated_in_email_with_a_note() -> None:
    e = compose_ticket_email(ticket(question="q" * 10_000), sender="bot@x", it_queue="it@x")
    assert "truncated to 4000 of 10000 characters" in e.text
    assert e.text.count("q") < 4100


def test_outbox_writes_a_parseable_rfc5322_message(tmp_path: Path) -> None:
    e = compose_ticket_email(ticket(question="Wi-Fi ❤️ broken"), sender="bot@example.com", it_queue="it@example.com")
    path = Path(OutboxMailer(tmp_path / "outbox").send(e))
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["To"] == "it@example.com" and msg["Subject"] == "[IT-ABCD1234] Wi-Fi ❤️ broken"
    assert msg["X-Helpdesk-Ticket"] == "IT-ABCD1234"
    body = msg.get_body(("plain",)).get_content()
    assert "Wi-Fi ❤️ broken" in body and "Travel & <Expenses>" in body
    assert msg.get_body(("html",)) is not None
