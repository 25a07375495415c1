"""During a model outage IT gets one alert and one summary, not one email per question; every ticket stays complete
and every requester is still confirmed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fakes.clock import FakeClock

from assistant.exceptions import MailError
from assistant.mail.compose import EmailContent
from assistant.slack.store import SqliteSlackStore
from assistant.tickets.base import EmailStatus
from assistant.tickets.desk import Requester, TicketDesk, TicketRequest
from assistant.tickets.outage import HELD, HELD_REQUESTER, LocalAlertGate, OutageAlerts
from assistant.tickets.sqlite import SqliteTicketStore
from assistant.tickets.sweep import run_sweep

IT = "it-support@example.com"


class Inbox:
    """A mailer that keeps what it sent and fails the next `failures` sends (to `fail_to`, if given)."""

    def __init__(self) -> None:
        self.sent: list[EmailContent] = []
        self.failures = 0
        self.fail_to: str | None = None
        self._lock = threading.Lock()

    def send(self, email: EmailContent) -> str:
        with self._lock:
            if self.failures and (self.fail_to is None or self.fail_to in email.to):
                self.failures -= 1
                raise MailError("injected failure", code="Throttling")
            self.sent.append(email)
            return f"m{len(self.sent)}"

    def to_it(self) -> list[EmailContent]:
        return [e for e in self.sent if IT in e.to]

    def to(self, address: str) -> list[EmailContent]:
        return [e for e in self.sent if address in e.to]


def _desk(tmp_path: Path, clock: FakeClock, inbox: Inbox, gate=None) -> TicketDesk:
    store = SqliteTicketStore(tmp_path / "t.db", clock=clock.utc)
    return TicketDesk(store, inbox, it_queue_email=IT, outage=OutageAlerts(gate or LocalAlertGate(clock)))


def _request(i: int, reason: str = "error") -> TicketRequest:
    who = Requester(user_id=f"U{i:04d}", name=f"Person {i}", email=f"p{i}@example.com", channel="C0HELP001")
    return TicketRequest(f"question number {i} about the VPN", reason, who)


def _sweep(desk: TicketDesk, inbox: Inbox, clock: FakeClock) -> dict:
    return run_sweep(desk.tickets, inbox, sender="bot@example.com", it_queue=IT, clock=clock.utc)


def test_a_burst_of_outage_tickets_gives_one_alert_then_one_summary(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    desk = _desk(tmp_path, clock, inbox)
    tickets = [desk.open_ticket(_request(i), idempotency_key=f"k{i}") for i in range(6)]

    [alert] = inbox.to_it()
    assert tickets[0].ticket_id in alert.subject and "Outage" in alert.subject
    assert "question number 0" in alert.text
    assert [t.email_status for t in tickets] == [EmailStatus.SENT] + [HELD] * 5
    assert all(len(inbox.to(f"p{i}@example.com")) == 1 for i in range(6))  # every requester confirmed at once

    summary = _sweep(desk, inbox, clock)

    assert summary["outage_summaries"] == 1 and summary["outage_listed"] == 5
    [_, digest] = inbox.to_it()
    assert all(t.ticket_id in digest.text for t in tickets[1:]) and tickets[0].ticket_id not in digest.text
    assert {t.email_status for t in desk.tickets.list()} == {EmailStatus.SENT}
    assert _sweep(desk, inbox, clock).get("outage_summaries", 0) == 0 and len(inbox.to_it()) == 2


def test_held_tickets_keep_every_detail(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    desk = _desk(tmp_path, clock, inbox)
    desk.open_ticket(_request(0))
    held = desk.open_ticket(_request(1))
    stored = desk.tickets.get(held.ticket_id)
    assert (stored.question, stored.requester_email, stored.reason) == (
        "question number 1 about the VPN",
        "p1@example.com",
        "error",
    )


def test_low_confidence_tickets_during_an_outage_are_still_emailed_one_by_one(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    desk = _desk(tmp_path, clock, inbox)
    desk.open_ticket(_request(0))
    desk.open_ticket(_request(1, "low_confidence"))
    desk.open_ticket(_request(2, "user_requested"))
    assert len(inbox.to_it()) == 3


def test_after_the_window_the_next_outage_ticket_alerts_again(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    desk = _desk(tmp_path, clock, inbox)
    desk.open_ticket(_request(0))
    desk.open_ticket(_request(1))
    clock.advance(minutes=16)
    late = desk.open_ticket(_request(2))
    assert late.email_status == EmailStatus.SENT and len(inbox.to_it()) == 2


def test_a_failed_summary_keeps_the_tickets_held_for_the_next_sweep(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    desk = _desk(tmp_path, clock, inbox)
    for i in range(3):
        desk.open_ticket(_request(i))
    inbox.failures, inbox.fail_to = 1, IT
    assert _sweep(desk, inbox, clock).get("outage_summaries", 0) == 0
    assert sorted(t.email_status for t in desk.tickets.list()) == [HELD, HELD, EmailStatus.SENT]

    assert _sweep(desk, inbox, clock)["outage_listed"] == 2
    assert len(inbox.to_it()) == 2


def test_a_failed_confirmation_of_a_held_ticket_is_retried_without_emailing_it_again(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    desk = _desk(tmp_path, clock, inbox)
    desk.open_ticket(_request(0))
    inbox.failures, inbox.fail_to = 1, "p1@example.com"
    held = desk.open_ticket(_request(1))
    assert held.email_status == HELD_REQUESTER

    _sweep(desk, inbox, clock)  # the summary names it
    _sweep(desk, inbox, clock)  # and the confirmation is retried

    assert desk.tickets.get(held.ticket_id).email_status == EmailStatus.SENT
    assert len(inbox.to("p1@example.com")) == 1
    assert len(inbox.to_it()) == 2  # the alert and the summary


def test_a_failed_alert_is_retried_by_the_sweep(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    desk = _desk(tmp_path, clock, inbox)
    inbox.failures, inbox.fail_to = 1, IT
    first = desk.open_ticket(_request(0))
    assert first.email_status.startswith(EmailStatus.FAILED)
    _sweep(desk, inbox, clock)
    assert desk.tickets.get(first.ticket_id).email_status == EmailStatus.SENT
    assert first.ticket_id in inbox.to_it()[0].subject


def test_concurrent_workers_sharing_the_slack_ledger_send_one_alert(tmp_path: Path) -> None:
    clock, inbox = FakeClock(), Inbox()
    gate = SqliteSlackStore(tmp_path / "slack.sqlite3", clock=clock)
    desk = _desk(tmp_path, clock, inbox, gate=gate)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: desk.open_ticket(_request(i), idempotency_key=f"k{i}"), range(24)))

    assert len(inbox.to_it()) == 1
    assert _sweep(desk, inbox, clock)["outage_listed"] == 23
