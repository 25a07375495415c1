"""Both interaction stores behave the same: SQLite under HELPDESK_HOME and DynamoDB (the real boto3 client against
moto in-process): record, read a period back, put a vote on an interaction, forget what has expired."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakes.clock import FakeClock

from assistant.interactions.base import new_interaction
from assistant.interactions.dynamodb import DynamoInteractionStore, table_definition
from assistant.interactions.exceptions import InteractionStoreError
from assistant.interactions.log import InteractionLog
from assistant.interactions.sqlite import SqliteInteractionStore

TABLE = "it-helpdesk-interactions"


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, tmp_path) -> Iterator[object]:
    if request.param == "sqlite":
        yield SqliteInteractionStore(tmp_path / "interactions.sqlite3")
        return
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition(TABLE))
        yield DynamoInteractionStore(TABLE, client=client)


def _make(clock: FakeClock, question: str, decision: str = "ticket", **kw: object):
    return new_interaction(origin="cli", question=question, decision=decision, now=clock.utc(), retention_days=90, **kw)


def test_a_period_comes_back_oldest_first_across_days(store):
    clock = FakeClock()
    old = _make(clock, "how do I expense a train ticket?")
    store.record(old)
    clock.advance(days=2)
    first = _make(clock, "wifi password for guests?", "answer", sources=[{"page_id": "7", "title": "Wifi"}])
    store.record(first)
    clock.advance(hours=30)
    second = _make(clock, "my laptop is slow", ticket_id="IT-ABCD2345")
    store.record(second)
    now = clock.utc()
    got = store.since(now - timedelta(days=2), now=now)
    assert [i.question for i in got] == ["wifi password for guests?", "my laptop is slow"]
    assert got[0].sources == [{"page_id": "7", "title": "Wifi", "url": ""}] and got[1].ticket_id == "IT-ABCD2345"
    assert [i.question for i in store.since(now - timedelta(days=7), now=now)] == [
        old.question,
        first.question,
        second.question,
    ]


def test_a_vote_lands_on_its_interaction_and_survives_a_re_record(store):
    clock = FakeClock()
    interaction = _make(clock, "vpn drops", "answer", interaction_id="ref123", answer="Restart the client [1].")
    store.record(interaction)
    assert store.set_vote("ref123", "not_helpful") is True
    assert store.set_vote("no-such-answer", "helpful") is False
    store.record(interaction)  # a redelivered answer records again
    [got] = store.since(clock.utc() - timedelta(hours=1), now=clock.utc())
    assert got.vote == "not_helpful" and got.answer == "Restart the client [1]."
    with pytest.raises(InteractionStoreError, match="unknown vote"):
        store.set_vote("ref123", "meh")


def test_what_outlived_the_retention_is_not_read_back(store):
    clock = FakeClock()
    store.record(new_interaction(origin="dm", question="old", decision="ticket", now=clock.utc(), retention_days=1))
    clock.advance(days=1, seconds=1)
    store.record(_make(clock, "new"))
    now = clock.utc()
    assert [i.question for i in store.since(now - timedelta(days=30), now=now)] == ["new"]


def test_the_log_scrubs_emails_and_tokens_and_a_failing_store_costs_nothing(tmp_path):
    clock = FakeClock()
    store = SqliteInteractionStore(tmp_path / "i.sqlite3")
    log = InteractionLog(store, retention_days=90, clock=clock.utc)
    log.record(origin="cli", question="mail ann@example.com my xoxb-123456789-abcdefgh token", decision="ticket")
    [got] = store.since(clock.utc() - timedelta(minutes=1), now=clock.utc())
    assert got.question == "mail [email address] my [token] token"
    assert got.expires_at == int((clock.utc() + timedelta(days=90)).timestamp())

    class Broken:
        def record(self, interaction: object) -> None:
            raise InteractionStoreError("disk full")

        def set_vote(self, interaction_id: str, vote: str) -> bool:
            raise InteractionStoreError("disk full")

    broken = InteractionLog(Broken(), clock=clock.utc)  # type: ignore[arg-type]
    assert broken.record(origin="dm", question="q", decision="answer") is None
    assert broken.vote("ref", "helpful") is False


def test_dynamodb_failures_name_the_table() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        missing = DynamoInteractionStore("no-such-table", client=boto3.client("dynamodb", region_name="us-east-1"))
        with pytest.raises(InteractionStoreError, match=r"no-such-table.*ResourceNotFoundException"):
            missing.record(_make(FakeClock(), "q"))
