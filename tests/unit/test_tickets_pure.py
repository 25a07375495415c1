"""The pure parts of tickets and mail: which tickets owe an email, allowed transitions, address hygiene."""

from __future__ import annotations

import pytest

from assistant.exceptions import TicketError
from assistant.mail.compose import clean_address, compose_requester_confirmation
from assistant.tickets.base import Ticket, owes_email
from assistant.tickets.status import allowed_from

STALE_BEFORE = "2026-03-01T09:00:00Z"
OLD, FRESH = "2026-03-01T08:00:00Z", "2026-03-01T09:30:00Z"


@pytest.mark.parametrize(
    ("status", "email_status", "updated_at", "owed"),
    [
        ("open", "failed: SES is throttling sends (TooManyRequestsException)", FRESH, True),
        ("in_progress", "failed (requester): MessageRejected", FRESH, True),
        ("open", "pending", FRESH, False),  # its own request is still on it
        ("open", "pending", OLD, True),
        ("open", "sending", FRESH, False),
        ("open", "sending: requester", OLD, True),  # the sender died
        ("open", "sent", OLD, False),
        ("open", "", OLD, False),  # an older item: never chased
        ("resolved", "failed: x", OLD, False),
        ("closed", "pending", OLD, False),
        ("open", "pending", "", False),
    ],
)
def test_which_tickets_owe_an_email(status: str, email_status: str, updated_at: str, owed: bool) -> None:
    t = Ticket("IT-1", "q", status=status, email_status=email_status, updated_at=updated_at)
    assert owes_email(t, stale_before=STALE_BEFORE) is owed


def test_allowed_transitions() -> None:
    assert set(allowed_from("resolved")) == {"", "open", "in_progress"}
    assert set(allowed_from("open")) == {"", "in_progress", "resolved", "closed"}
    assert set(allowed_from("closed")) == {"", "open", "in_progress", "resolved"}
    with pytest.raises(TicketError, match="unknown status 'done'"):
        allowed_from("done")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("zoe@example.com", "zoe@example.com"),
        ("  zoe@example.com ", "zoe@example.com"),
        ("Zoë <zoe@example.com>", ""),
        ("a@example.com, b@example.com", ""),
        ("a@example.com\r\nBcc: x@evil.test", ""),
        ("zoë@exämple.com", ""),
        ("no-at-sign", ""),
        ("a@localhost", ""),
        ("", ""),
    ],
)
def test_only_plain_addresses_are_used(raw: str, clean: str) -> None:
    assert clean_address(raw) == clean


def test_no_confirmation_without_an_address() -> None:
    assert compose_requester_confirmation(Ticket("IT-1", "q"), sender="b@x.io", it_queue="it@x.io") is None


def test_from_dict_coerces_whatever_an_old_item_holds() -> None:
    t = Ticket.from_dict(
        {
            "ticket_id": 17,
            "question": ["a", "b"],
            "created_at": 1700000000,
            "confidence": "nan",
            "sources": [{"title": None, "url": 3, "score": "0.5"}, "https://x.test/p", None],
            "status": None,
        }
    )
    assert (t.ticket_id, t.question, t.created_at, t.confidence, t.status) == (
        "17",
        '["a", "b"]',
        "1700000000",
        None,
        "",
    )
    assert t.sources == [
        {"title": "", "url": "3", "score": 0.5, "page_id": ""},
        {"page_id": "", "title": "", "url": "https://x.test/p"},
    ]
