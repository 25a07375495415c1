"""One contract, two backends: every TicketStore behaviour runs against SQLite and DynamoDB (moto in-process)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.aws import dynamo_client, legacy_items
from fakes.clock import FakeClock

from assistant.exceptions import InvalidTransition, TicketError, TicketNotFound
from assistant.tickets.base import Ticket, derived_ticket_id
from assistant.tickets.config import TicketsConfig
from assistant.tickets.dynamodb import DynamoTicketStore, init_table
from assistant.tickets.sqlite import SqliteTicketStore
from assistant.tickets.status import resolve, set_status

TABLE = "it-helpdesk-tickets"


@dataclass
class Backend:
    name: str
    store: Any
    clock: FakeClock
    raw: Any  # sqlite path or boto3 client

    def put_legacy(self, items: list[dict[str, Any]]) -> None:
        """Write older records straight into the backend, bypassing the store."""
        if self.name == "dynamodb":
            for item in items:
                self.raw.put_item(TableName=TABLE, Item=item)
            return
        import sqlite3

        from boto3.dynamodb.types import TypeDeserializer

        de = TypeDeserializer()
        with sqlite3.connect(self.raw) as db:
            for item in items:
                data = {k: de.deserialize(v) for k, v in item.items() if k != "blob"}
                text = json.dumps(data, default=lambda o: sorted(o) if isinstance(o, set) else str(o))
                db.execute(
                    "INSERT INTO tickets (ticket_id, idempotency_key, status, requester_id, created_at, data)"
                    " VALUES (?, NULL, ?, ?, ?, ?)",
                    (
                        data["ticket_id"],
                        str(data.get("status", "")),
                        str(data.get("requester_id", "")),
                        str(data.get("created_at", "")),
                        text,
                    ),
                )

    def stored_count(self) -> int:
        if self.name == "dynamodb":
            return sum(p["Count"] for p in self.raw.get_paginator("scan").paginate(TableName=TABLE, Select="COUNT"))
        return len(self.store.list(limit=100_000))


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clock = FakeClock()
    if request.param == "sqlite":
        path = tmp_path / "tickets.sqlite3"
        yield Backend("sqlite", SqliteTicketStore(path, clock=clock.utc), clock, path)
        return
    from moto import mock_aws

    with mock_aws():
        client = dynamo_client()
        init_table(TicketsConfig(table=TABLE), client=client, sleep=lambda s: None)
        yield Backend("dynamodb", DynamoTicketStore(TABLE, client=client, clock=clock.utc), clock, client)


def full_ticket(**kw: Any) -> Ticket:
    base: dict[str, Any] = dict(
        ticket_id="",
        question="Le Wi-Fi « CorpNet » refuse mon mot de passe 🔐 — 日本語も",
        requester_id="U012AB3CD",
        requester_name="Zoë Ünal 🚀",
        requester_email="zoe@example.com",
        channel="C024BE91L",
        thread_ts="1712345678.000100",
        permalink="https://acme.slack.com/archives/C024BE91L/p1712345678000100",
        draft_answer="Try forgetting the network first [1].",
        sources=[
            {"page_id": "101", "title": "Wi-Fi & <CorpNet>", "url": "https://wiki.example.test/101", "score": 0.42},
            {"page_id": "102", "title": "Passwords", "url": "https://wiki.example.test/102", "score": 0.3},
        ],
        confidence=0.37,
        reason="low_confidence",
        idempotency_key="",
    )
    base.update(kw)
    return Ticket(**base)


def test_a_ticket_keeps_every_field_with_unicode_and_emoji(backend: Backend) -> None:
    created = backend.store.create(full_ticket())
    assert created.ticket_id.startswith("IT-") and len(created.ticket_id) == 11
    assert created.created_at == created.updated_at == backend.clock.stamp
    loaded = backend.store.get(created.ticket_id)
    assert loaded.to_dict() == created.to_dict()
    assert loaded.status == "open" and loaded.email_status == "pending"
    assert loaded.sources[0]["title"] == "Wi-Fi & <CorpNet>" and loaded.sources[0]["score"] == pytest.approx(0.42)
    assert loaded.requester_name == "Zoë Ünal 🚀" and "🔐" in loaded.question


def test_a_10000_character_question_is_stored_whole(backend: Backend) -> None:
    question = ("Outlook crashes when I open the shared calendar. " * 250)[:10_000]
    created = backend.store.create(full_ticket(question=question))
    assert backend.store.get(created.ticket_id).question == question


def test_a_missing_requester_email_and_blank_fields_round_trip(backend: Backend) -> None:
    created = backend.store.create(Ticket("", "Printer jam", requester_id="", requester_email="", confidence=None))
    loaded = backend.store.get(created.ticket_id)
    assert loaded.requester_email == "" and loaded.requester_id == "" and loaded.confidence is None
    assert loaded.sources == [] and loaded.status == "open"
    assert [t.ticket_id for t in backend.store.list(status="open")] == [created.ticket_id]


def test_ids_are_case_insensitive_on_lookup(backend: Backend) -> None:
    created = backend.store.create(full_ticket())
    assert backend.store.get(f"  {created.ticket_id.lower()} ").ticket_id == created.ticket_id
    with pytest.raises(TicketNotFound, match="IT-NOPE"):
        backend.store.get("IT-NOPE")


def test_list_filters_newest_first(backend: Backend) -> None:
    s = backend.store
    a = s.create(full_ticket(question="a", requester_id="U1"))
    backend.clock.advance(minutes=1)
    b = s.create(full_ticket(question="b", requester_id="U2"))
    backend.clock.advance(minutes=1)
    c = s.create(full_ticket(question="c", requester_id="U1"))
    set_status(s, b.ticket_id, "in_progress")
    resolve(s, c.ticket_id)
    ids = lambda tickets: [t.ticket_id for t in tickets]  # noqa: E731
    assert ids(s.list()) == [c.ticket_id, b.ticket_id, a.ticket_id]
    assert ids(s.list(limit=2)) == [c.ticket_id, b.ticket_id]
    assert ids(s.list(requester="U1")) == [c.ticket_id, a.ticket_id]
    assert ids(s.list(requester="U1", status="open")) == [a.ticket_id]
    assert ids(s.list(status="in_progress")) == [b.ticket_id]
    assert ids(s.list(status="resolved")) == [c.ticket_id]
    assert s.list(status="closed") == [] and s.list(requester="U9") == []


def test_status_transitions_stamp_updated_at(backend: Backend) -> None:
    s = backend.store
    t = s.create(full_ticket())
    for status in ("in_progress", "open", "resolved", "closed", "open", "closed"):
        stamp = backend.clock.advance(seconds=30)
        moved = set_status(s, t.ticket_id, status)
        assert moved.changed and moved.ticket.status == status and moved.ticket.updated_at == stamp
        assert s.get(t.ticket_id).status == status
    assert s.get(t.ticket_id).created_at == t.created_at
    with pytest.raises(InvalidTransition, match="closed; it cannot become resolved"):
        resolve(s, t.ticket_id)
    with pytest.raises(TicketError, match="unknown status"):
        set_status(s, t.ticket_id, "done")


def test_resolving_twice_changes_once(backend: Backend) -> None:
    t = backend.store.create(full_ticket())
    first_stamp = backend.clock.advance(minutes=5)
    first = resolve(backend.store, t.ticket_id)
    backend.clock.advance(minutes=5)
    again = resolve(backend.store, t.ticket_id)
    assert first.changed and not again.changed
    assert again.ticket.updated_at == first_stamp == backend.store.get(t.ticket_id).updated_at


def test_update_sets_updated_at_and_refuses_bad_changes(backend: Backend) -> None:
    t = backend.store.create(full_ticket())
    stamp = backend.clock.advance(hours=1)
    updated = backend.store.update(t.ticket_id, status="resolved")
    assert updated.status == "resolved" and updated.updated_at == stamp
    for bad, message in (
        ({"status": "bogus"}, "unknown status"),
        ({"colour": "red"}, "unknown ticket field"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "cannot be changed"),
        ({"idempotency_key": "k"}, "cannot be changed"),
    ):
        with pytest.raises(TicketError, match=message):
            backend.store.update(t.ticket_id, **bad)
    with pytest.raises(TicketNotFound):
        backend.store.update("IT-MISSING", status="resolved")
    assert backend.store.get(t.ticket_id).status == "resolved"


def test_update_if_is_a_compare_and_set(backend: Backend) -> None:
    t = backend.store.create(full_ticket())
    assert backend.store.update_if(t.ticket_id, {"email_status": ("sent",)}, email_status="failed: x") is None
    claimed = backend.store.update_if(t.ticket_id, {"email_status": ("pending",)}, email_status="sending")
    assert claimed is not None and claimed.email_status == "sending"
    assert backend.store.update_if(t.ticket_id, {"email_status": ("pending",)}, email_status="sending") is None
    with pytest.raises(TicketNotFound):
        backend.store.update_if("IT-MISSING", {"status": ("open",)}, status="resolved")


def test_200_concurrent_creates_with_duplicate_keys_make_one_ticket_per_key(backend: Backend) -> None:
    keys = [f"Ev{n:04d}" for n in range(40)]

    def create(i: int) -> tuple[str, str]:
        key = keys[i % len(keys)]
        return key, backend.store.create(full_ticket(question=f"q {key}", idempotency_key=key)).ticket_id

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(create, range(200)))
    ids_per_key: dict[str, set[str]] = {}
    for key, ticket_id in results:
        ids_per_key.setdefault(key, set()).add(ticket_id)
    assert all(len(ids) == 1 for ids in ids_per_key.values()), ids_per_key
    assert backend.stored_count() == len(keys) == len({i for ids in ids_per_key.values() for i in ids})
    stored = backend.store.list(limit=1000)
    assert Counter(t.idempotency_key for t in stored) == Counter({k: 1 for k in keys})
    for t in stored:
        assert t.question == f"q {t.idempotency_key}"


def test_a_repeated_key_returns_the_first_ticket_unchanged(backend: Backend) -> None:
    first = backend.store.create(full_ticket(question="first", idempotency_key="Ev42"))
    backend.clock.advance(minutes=3)
    again = backend.store.create(full_ticket(question="redelivered", idempotency_key="Ev42"))
    assert again.ticket_id == first.ticket_id and again.question == "first" and again.created_at == first.created_at
    assert backend.stored_count() == 1


def test_a_taken_id_is_never_overwritten(backend: Backend) -> None:
    occupant = backend.store.create(full_ticket(question="occupant"))
    newcomer = backend.store.create(full_ticket(ticket_id=occupant.ticket_id, question="newcomer"))
    assert newcomer.ticket_id != occupant.ticket_id
    assert backend.store.get(occupant.ticket_id).question == "occupant"
    assert backend.store.get(newcomer.ticket_id).question == "newcomer"
    # The id an idempotency key would get first is already taken by another ticket: the key's ticket goes
    # elsewhere, the occupant stays, and a repeat of the key still finds its own ticket.
    squatter = backend.store.create(full_ticket(ticket_id=derived_ticket_id("Ev7"), question="squatter"))
    keyed = backend.store.create(full_ticket(question="keyed", idempotency_key="Ev7"))
    assert keyed.ticket_id != squatter.ticket_id and backend.store.get(squatter.ticket_id).question == "squatter"
    assert backend.store.create(full_ticket(question="again", idempotency_key="Ev7")).ticket_id == keyed.ticket_id
    assert backend.stored_count() == 4


def test_older_items_list_show_and_resolve_with_blanks(backend: Backend) -> None:
    backend.put_legacy(legacy_items(57))
    new = backend.store.create(full_ticket())
    listed = backend.store.list(limit=1000)
    assert len(listed) == 58 and listed[0].ticket_id == new.ticket_id  # undated items sort last
    for t in listed:
        json.dumps(t.to_dict())  # every field is plain JSON
        assert isinstance(t.question, str) and isinstance(t.sources, list)
    bare = backend.store.get("LEGACY-000")
    assert (bare.question, bare.status, bare.created_at, bare.email_status, bare.sources) == ("", "", "", "", [])
    odd = backend.store.get("LEGACY-003")
    assert odd.question == "42" and odd.sources == [] and odd.confidence is None
    linked = backend.store.get("LEGACY-006")
    assert linked.sources[0]["url"] == "https://wiki.example.test/x" and linked.sources[1]["title"] == "7"
    assert backend.store.get("LEGACY-001").status == "open"  # an older spelling reads as ours
    # the queue and "my tickets" still work, and hold the old items that carry those attributes
    assert new.ticket_id in [t.ticket_id for t in backend.store.list(status="open")]
    assert "LEGACY-004" in [t.ticket_id for t in backend.store.list(requester="U0LEGACY")]
    # an older item can be resolved, whatever status vocabulary it had
    for legacy_id in ("LEGACY-000", "LEGACY-001"):
        stamp = backend.clock.advance(minutes=1)
        done = resolve(backend.store, legacy_id)
        assert done.changed and done.ticket.status == "resolved" and done.ticket.updated_at == stamp
    assert backend.store.unsent(since="2000-01-01T00:00:00Z") == [new]


def numeric_status_item(ticket_id: str) -> dict[str, Any]:
    return {"ticket_id": {"S": ticket_id}, "status": {"N": "2"}, "question": {"S": "Old numeric status"}}


def test_an_older_item_with_a_numeric_status_resolves_once(backend: Backend) -> None:
    backend.put_legacy([numeric_status_item("LEGACY-NUM"), *legacy_items(9)])
    assert backend.store.get("LEGACY-NUM").status == ""  # no status of ours: it may move anywhere
    stamp = backend.clock.advance(minutes=1)
    done = resolve(backend.store, "LEGACY-NUM", by="alice", note="Replaced the cable", clock=backend.clock.utc)
    assert done.changed and done.ticket.status == "resolved" and done.ticket.updated_at == stamp
    again = resolve(backend.store, "LEGACY-NUM", by="bob", clock=backend.clock.utc)
    assert not again.changed and again.ticket.history == [
        {"status": "resolved", "by": "alice", "at": stamp, "note": "Replaced the cable"}
    ]
    assert backend.store.get("LEGACY-NUM").resolution_note == "Replaced the cable"


def test_older_open_items_are_in_the_open_queue_and_move_like_open_ones(backend: Backend) -> None:
    backend.put_legacy(legacy_items(9))  # LEGACY-001 is stored as "OPEN", LEGACY-005 as "open"
    queue = [t.ticket_id for t in backend.store.list(status="open")]
    assert sorted(queue) == ["LEGACY-001", "LEGACY-005"]
    backend.store.update("LEGACY-001", status="closed")
    with pytest.raises(InvalidTransition, match="LEGACY-001 is closed"):
        resolve(backend.store, "LEGACY-001")
    backend.put_legacy([{"ticket_id": {"S": "LEGACY-OPEN"}, "status": {"S": "OPEN"}}])
    assert not set_status(backend.store, "LEGACY-OPEN", "open").changed  # already open, in its own spelling
    assert set_status(backend.store, "LEGACY-OPEN", "in_progress").ticket.status == "in_progress"


def test_the_workflow_records_who_moved_the_ticket_and_when(backend: Backend) -> None:
    t = backend.store.create(full_ticket())
    steps = [("in_progress", "alice", ""), ("resolved", "alice", "Reset the password"), ("open", "U0REOPEN", "")]
    steps.append(("closed", "bob", ""))
    stamps = []
    for status, by, note in steps:
        stamps.append(backend.clock.advance(minutes=10))
        assert set_status(backend.store, t.ticket_id, status, by=by, note=note, clock=backend.clock.utc).changed
    got = backend.store.get(t.ticket_id)
    assert [(h["status"], h["by"], h["at"]) for h in got.history] == [
        (status, by, at) for (status, by, _), at in zip(steps, stamps, strict=True)
    ]
    assert got.history[1]["note"] == "Reset the password" and got.resolution_note == "Reset the password"
    assert got.to_dict()["history"] == got.history  # as `tickets show --json` prints it


def test_list_bounds_the_age_of_tickets(backend: Backend) -> None:
    s = backend.store
    old = s.create(full_ticket())
    backend.clock.advance(days=10)
    middle = s.create(full_ticket(requester_id="U2"))
    backend.clock.advance(days=10)
    new = s.create(full_ticket())
    backend.put_legacy(legacy_items(9))  # LEGACY-004 and -005 are from 2024; the others undated, in no window
    cut_old, cut_new = middle.created_at, new.created_at

    def ids(tickets: Any) -> list[str]:
        return [t.ticket_id for t in tickets]

    assert ids(s.list(created_before=cut_old)) == [old.ticket_id, "LEGACY-005", "LEGACY-004"]
    assert ids(s.list(created_after=cut_old)) == [new.ticket_id, middle.ticket_id]
    assert ids(s.list(created_after=cut_old, created_before=cut_new)) == [middle.ticket_id]
    assert ids(s.list(status="open", created_before=cut_new)) == [middle.ticket_id, old.ticket_id, "LEGACY-005"]
    assert ids(s.list(status="open", created_after=cut_new)) == [new.ticket_id]
    assert ids(s.list(requester="U012AB3CD", status="open", created_before=cut_new)) == [old.ticket_id]
    assert ids(s.list(requester="U2", created_after=cut_old, created_before=cut_new)) == [middle.ticket_id]
