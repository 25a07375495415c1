"""Never lose a ticket: save first, email after, record failures, and let the sweep send each email exactly once.
Runs on both deployments: SQLite + .eml outbox, and DynamoDB + SES (moto)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.aws import SesFaults, SesRecorder, dynamo_client, linearizable_dynamodb, read_outbox, ses_client
from fakes.clock import FakeClock
from fakes.lambda_context import LambdaContext
from fakes.mail import FlakyMailer

from assistant.mail.outbox import OutboxMailer
from assistant.mail.ses import SesMailer
from assistant.tickets.base import Ticket
from assistant.tickets.config import TicketsConfig
from assistant.tickets.delivery import deliver
from assistant.tickets.desk import Requester, TicketDesk, TicketRequest
from assistant.tickets.dynamodb import DynamoTicketStore, init_table
from assistant.tickets.sqlite import SqliteTicketStore
from assistant.tickets.sweep import run_sweep

SENDER = "helpdesk-bot@example.com"
IT = "it-support@example.com"
ZOE = "zoe@example.com"
TABLE = "it-helpdesk-tickets"


@dataclass
class Deployment:
    name: str
    store: Any
    mailer: Any
    faults: Any  # .fail(code, times=, status=, to=)
    sent: Callable[[], list[Any]]
    clock: FakeClock

    def recipients(self) -> Counter[str]:
        return Counter(m.to[0] for m in self.sent())

    def desk(self, *, notify_requester: bool = True) -> TicketDesk:
        return TicketDesk(
            self.store, self.mailer, it_queue_email=IT, sender_email=SENDER, notify_requester=notify_requester
        )

    def sweep(self, **kw: Any) -> dict[str, Any]:
        return run_sweep(self.store, self.mailer, sender=SENDER, it_queue=IT, clock=self.clock.utc, **kw)


@pytest.fixture(params=["local", "aws"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    clock = FakeClock()
    if request.param == "local":
        mailer = FlakyMailer(OutboxMailer(tmp_path / "outbox"))
        store = SqliteTicketStore(tmp_path / "tickets.sqlite3", clock=clock.utc)
        yield Deployment("local", store, mailer, mailer, lambda: read_outbox(tmp_path / "outbox"), clock)
        return
    from moto import mock_aws

    with mock_aws(), linearizable_dynamodb():
        dynamo, ses = dynamo_client(), ses_client()
        init_table(TicketsConfig(table=TABLE), client=dynamo, sleep=lambda s: None)
        ses.create_email_identity(EmailIdentity=SENDER)
        recorder, faults = SesRecorder(ses), SesFaults(ses)
        store = DynamoTicketStore(TABLE, client=dynamo, clock=clock.utc)
        yield Deployment("aws", store, SesMailer(ses), faults, recorder.sent, clock)


REQUESTER = Requester(
    user_id="U012AB3CD", name="Zoë", email=ZOE, channel="C1", thread_ts="1.2", permalink="https://s/p"
)


def open_ticket(d: Deployment, key: str = "", question: str = "VPN keeps dropping 📶", **kw: Any) -> Ticket:
    return d.desk(**kw).open_ticket(TicketRequest(question, "low_confidence", REQUESTER), idempotency_key=key)


def test_a_ticket_is_saved_then_emailed_to_it_and_the_requester(deployment: Deployment) -> None:
    t = open_ticket(deployment)
    assert t.email_status == "sent" and deployment.store.get(t.ticket_id).email_status == "sent"
    assert deployment.recipients() == Counter({IT: 1, ZOE: 1})
    assert all(t.ticket_id in m.subject for m in deployment.sent())


def test_with_notify_requester_off_only_it_is_emailed(deployment: Deployment) -> None:
    open_ticket(deployment, notify_requester=False)
    assert deployment.recipients() == Counter({IT: 1})


def test_a_redelivered_event_opens_and_emails_nothing_new(deployment: Deployment) -> None:
    first = open_ticket(deployment, key="Ev0ABC")
    again = open_ticket(deployment, key="Ev0ABC", question="redelivered")
    assert again.ticket_id == first.ticket_id and again.question == first.question
    assert len(deployment.store.list()) == 1 and deployment.recipients() == Counter({IT: 1, ZOE: 1})


def test_ses_failing_then_recovering_sends_exactly_once(deployment: Deployment) -> None:
    deployment.faults.fail("TooManyRequestsException", times=3, status=429)
    t = open_ticket(deployment)
    assert t.email_status.startswith("failed: ") and "TooManyRequestsException" in t.email_status
    assert deployment.store.get(t.ticket_id).question == "VPN keeps dropping 📶" and deployment.sent() == []
    outcomes = []
    for _ in range(5):
        deployment.clock.advance(minutes=5)
        summary = deployment.sweep()
        outcomes.append((summary["sent"], summary["failed"]))
    assert outcomes == [(0, 1), (0, 1), (1, 0), (0, 0), (0, 0)]
    assert deployment.recipients() == Counter({IT: 1, ZOE: 1})
    assert deployment.store.get(t.ticket_id).email_status == "sent"


def test_a_failed_confirmation_is_retried_without_emailing_it_again(deployment: Deployment) -> None:
    deployment.faults.fail("MessageRejected", to=ZOE)
    t = open_ticket(deployment)
    assert t.email_status.startswith("failed (requester): ") and "MessageRejected" in t.email_status
    assert deployment.recipients() == Counter({IT: 1})
    deployment.clock.advance(minutes=1)
    assert deployment.sweep()["sent"] == 1
    assert deployment.recipients() == Counter({IT: 1, ZOE: 1})
    assert deployment.store.get(t.ticket_id).email_status == "sent"


class StoreDownAfterCreate:
    """The ticket store accepts the create, then fails (a DynamoDB outage mid-request)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_if(self, *args: Any, **kwargs: Any) -> Any:
        from assistant.exceptions import TicketError

        raise TicketError("DynamoDB throttled the request (ThrottlingException); try again shortly")


def test_a_store_failure_after_the_create_still_returns_the_saved_ticket(deployment: Deployment) -> None:
    real = deployment.store
    deployment.store = StoreDownAfterCreate(real)
    t = open_ticket(deployment)
    deployment.store = real
    assert real.get(t.ticket_id).email_status == "pending" and deployment.sent() == []
    deployment.clock.advance(minutes=16)
    assert deployment.sweep()["sent"] == 1 and deployment.recipients() == Counter({IT: 1, ZOE: 1})


def test_two_senders_with_the_same_snapshot_send_once(deployment: Deployment) -> None:
    deployment.faults.fail("ServiceUnavailable", status=503)
    failed = open_ticket(deployment)
    first = deliver(deployment.store, deployment.mailer, failed, sender=SENDER, it_queue=IT)
    second = deliver(deployment.store, deployment.mailer, failed, sender=SENDER, it_queue=IT)  # stale snapshot
    assert (first.outcome, second.outcome) == ("sent", "busy")
    assert deployment.recipients() == Counter({IT: 1, ZOE: 1})


def test_overlapping_sweeps_send_each_email_once(deployment: Deployment) -> None:
    deployment.faults.fail("InternalFailure", times=12, status=500, to=IT)
    tickets = [open_ticket(deployment, question=f"question {n}") for n in range(12)]
    assert all(t.email_status.startswith("failed: ") for t in tickets)
    deployment.clock.advance(minutes=1)
    with ThreadPoolExecutor(4) as pool:
        summaries = list(pool.map(lambda _: deployment.sweep(), range(4)))
    assert sum(s["sent"] for s in summaries) == 12
    it_subjects = Counter(m.subject for m in deployment.sent() if m.to == [IT])
    assert len(it_subjects) == 12 and set(it_subjects.values()) == {1}
    assert deployment.recipients() == Counter({IT: 12, ZOE: 12})


def test_a_lost_sender_is_retried_after_the_stale_window_only(deployment: Deployment) -> None:
    t = deployment.store.create(Ticket("", "Printer offline", requester_email=ZOE))
    deployment.store.update(t.ticket_id, email_status="sending")  # a sender claimed it, then died
    deployment.clock.advance(minutes=5)
    assert deployment.sweep()["owed"] == 0 and deployment.sent() == []
    deployment.clock.advance(minutes=11)
    assert deployment.sweep()["sent"] == 1
    assert deployment.recipients() == Counter({IT: 1, ZOE: 1})


def test_a_fresh_pending_ticket_is_left_to_its_request(deployment: Deployment) -> None:
    deployment.store.create(Ticket("", "Printer offline"))
    deployment.clock.advance(minutes=1)
    assert deployment.sweep()["owed"] == 0
    deployment.clock.advance(minutes=15)
    assert deployment.sweep()["sent"] == 1 and deployment.recipients() == Counter({IT: 1})


def test_resolved_and_old_tickets_are_not_chased(deployment: Deployment) -> None:
    deployment.faults.fail("MessageRejected", times=2)
    resolved = open_ticket(deployment, question="resolved meanwhile")
    deployment.store.update(resolved.ticket_id, status="resolved")
    open_ticket(deployment, question="too old")
    deployment.clock.advance(days=8)
    assert deployment.sweep() == {
        "examined": 0,
        "owed": 0,
        "sent": 0,
        "failed": 0,
        "busy": 0,
        "errors": 0,
        "failed_ids": [],
    }
    assert deployment.sent() == []


def test_the_scheduled_sweep_logs_one_json_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from moto import mock_aws

    import handler
    from helpdesk import scheduled as sweep

    with mock_aws():
        monkeypatch.setenv("TICKETS_TABLE", TABLE)
        monkeypatch.setenv("HELPDESK_IT_EMAIL", IT)
        monkeypatch.setenv("HELPDESK_SENDER_EMAIL", SENDER)
        monkeypatch.setattr(sweep, "_deps", None)
        init_table(TicketsConfig(table=TABLE), client=dynamo_client(), sleep=lambda s: None)
        store = DynamoTicketStore(TABLE, client=dynamo_client())
        t = store.create(Ticket("", "Printer offline", email_status="failed: SES is unavailable (InternalFailure)"))
        ses_client().create_email_identity(EmailIdentity=SENDER)
        logging.getLogger().setLevel(logging.WARNING)  # as in Lambda: the summary must not depend on the root level
        context = LambdaContext(function_name="helpdesk-sweep")
        result = handler.sweep_handler({"source": "aws.events"}, context)
        deps = sweep._deps
        again = handler.sweep_handler({}, context)
        assert (result["sent"], again["owed"]) == (1, 0) and sweep._deps is deps  # built once per cold start
        out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
        lines = [x for x in out if x.get("event") == "ticket_email_sweep"]
        assert [line["event"] for line in lines] == ["ticket_email_sweep"] * 2
        assert lines[0]["sent"] == 1 and store.get(t.ticket_id).email_status == "sent"
