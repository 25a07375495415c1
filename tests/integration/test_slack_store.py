"""The dedupe ledger and feedback store: the same behaviour from SQLite and from DynamoDB (moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import pytest
from fakes.clock import FakeClock
from moto import mock_aws

from assistant.slack.dynamo_store import DynamoSlackStore, create_table
from assistant.slack.exceptions import SlackStoreError
from assistant.slack.store import AnswerRecord, SqliteSlackStore


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_and_clock(request, tmp_path) -> Iterator[tuple[object, FakeClock]]:
    clock = FakeClock(1_800_000_000.0)
    if request.param == "sqlite":
        yield SqliteSlackStore(tmp_path / "slack.sqlite3", clock=clock), clock
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "helpdesk-slack")
        yield DynamoSlackStore("helpdesk-slack", client=client, clock=clock), clock


def test_claim_complete_and_redelivery(store_and_clock):
    store, _ = store_and_clock
    assert store.claim("event:Ev1", lease_seconds=120) == "new"
    assert store.claim("event:Ev1", lease_seconds=120) == "in_progress"
    store.complete("event:Ev1")
    assert store.claim("event:Ev1", lease_seconds=120) == "done"
    assert store.claim("event:Ev2", lease_seconds=120) == "new"


def test_an_expired_lease_is_taken_over(store_and_clock):
    store, clock = store_and_clock
    assert store.claim("event:Ev1", lease_seconds=120) == "new"
    clock.now += 119
    assert store.claim("event:Ev1", lease_seconds=120) == "in_progress"
    clock.now += 2
    assert store.claim("event:Ev1", lease_seconds=120) == "new"  # the first delivery died: answer it now
    assert store.claim("event:Ev1", lease_seconds=120) == "in_progress"


def test_done_is_forgotten_after_a_day(store_and_clock):
    store, clock = store_and_clock
    store.claim("k", lease_seconds=120)
    store.complete("k")
    clock.now += 24 * 3600 + 1
    assert store.claim("k", lease_seconds=120) == "new"


def test_answers_round_trip_and_expire(store_and_clock):
    store, clock = store_and_clock
    record = AnswerRecord(question="VPN?", answer="Use GP [1]", sources=[{"title": "VPN", "url": "https://x"}])
    store.save_answer("ref1", record)
    assert store.get_answer("ref1") == record
    assert store.get_answer("nope") is None
    clock.now += 31 * 24 * 3600
    assert store.get_answer("ref1") is None


def test_votes_are_counted_once_per_user_and_changes_replace(store_and_clock):
    store, _ = store_and_clock
    store.record_vote("a", "U1", "helpful")
    store.record_vote("a", "U1", "helpful")  # a second click: still one
    store.record_vote("a", "U2", "helpful")
    store.record_vote("a", "U2", "not_helpful")  # changed their mind
    store.record_vote("b", "U1", "not_helpful")
    assert store.counts("a") == {"helpful": 1, "not_helpful": 1}
    assert store.counts("b") == {"helpful": 0, "not_helpful": 1}
    assert store.counts() == {"helpful": 1, "not_helpful": 2}
    with pytest.raises(SlackStoreError, match="unknown vote"):
        store.record_vote("a", "U1", "meh")


def test_concurrent_claims_have_one_winner(tmp_path):
    store = SqliteSlackStore(tmp_path / "slack.sqlite3")
    results: list[str] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        results.append(store.claim("event:race", lease_seconds=60))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["in_progress"] * 7 + ["new"]


def test_dynamodb_errors_are_translated():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoSlackStore("missing-table", client=client)
        with pytest.raises(SlackStoreError, match="missing-table"):
            store.claim("k", lease_seconds=10)


def test_unwritable_sqlite_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SlackStoreError, match="cannot open the local Slack store"):
        SqliteSlackStore(blocker / "slack.sqlite3")


def test_an_answer_record_is_stored_as_one_json_object_with_its_keys_in_order(tmp_path):
    import json
    import sqlite3

    store = SqliteSlackStore(tmp_path / "slack.sqlite3")
    source = {"page_id": "101", "title": "VPN", "url": "https://x", "score": 0.9}
    record = AnswerRecord("VPN?", "U1", "C1", "1.2", "Opened IT-1", "draft", [source], "ticket", 0.41, "IT-1", "1.3")
    store.save_answer("ref1", record)
    with sqlite3.connect(tmp_path / "slack.sqlite3") as db:
        [(data,)] = db.execute("SELECT data FROM answers").fetchall()
    assert data == (
        '{"question": "VPN?", "user": "U1", "channel": "C1", "thread_ts": "1.2", "answer": "Opened IT-1", '
        '"draft_answer": "draft", "sources": [{"page_id": "101", "title": "VPN", "url": "https://x", "score": 0.9}], '
        '"decision": "ticket", "confidence": 0.41, "ticket_id": "IT-1", "answer_ts": "1.3"}'
    )
    refused = AnswerRecord("?", "U1", "C1", "1.2", "Please ask a question.", decision="invalid", answer_ts="1.3")
    assert json.loads(json.dumps(refused.to_json())).keys() == {
        "question", "user", "channel", "thread_ts", "answer", "draft_answer", "sources", "decision", "answer_ts"
    }  # fmt: skip
    older = AnswerRecord.from_json({"question": "VPN?", "answer": "Use GP [1]", "decision": "answer"})
    assert older.channel == "" and older.confidence is None and older.ticket_draft() == "Use GP [1]"
