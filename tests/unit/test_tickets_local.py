from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.exceptions import TicketError, TicketNotFound
from assistant.tickets.base import Ticket, new_ticket_id
from assistant.tickets.sqlite import SqliteTicketStore


def test_ticket_ids_are_readable_and_distinct() -> None:
    ids = {new_ticket_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(i.startswith("IT-") and len(i) == 11 and not set(i[3:]) & set("ILOU") for i in ids)


def test_create_get_list_update(tmp_path: Path) -> None:
    store = SqliteTicketStore(tmp_path / "t.db")
    t = store.create(Ticket("", "Printer on floor 3 jams 🖨️", requester_id="U1", requester_name="Ana"))
    assert t.ticket_id.startswith("IT-") and t.status == "open" and t.created_at.endswith("Z")
    assert store.get(t.ticket_id).question == "Printer on floor 3 jams 🖨️"
    assert [x.ticket_id for x in store.list(requester="U1")] == [t.ticket_id]
    assert store.list(requester="U2") == []
    resolved = store.update(t.ticket_id, status="resolved")
    assert resolved.status == "resolved" and resolved.updated_at >= t.created_at
    assert store.list(status="open") == [] and len(store.list(status="resolved")) == 1
    with pytest.raises(TicketError, match="unknown status"):
        store.update(t.ticket_id, status="bogus")
    with pytest.raises(TicketNotFound):
        store.get("IT-NOPE")


def test_create_is_idempotent_under_concurrency(tmp_path: Path) -> None:
    store = SqliteTicketStore(tmp_path / "t.db")

    def create(i: int) -> str:
        return store.create(Ticket("", f"q{i % 5}", idempotency_key=f"evt-{i % 5}")).ticket_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, range(60)))
    assert len(set(ids)) == 5
    assert len(store.list(limit=1000)) == 5


def test_older_records_with_missing_fields_still_load() -> None:
    t = Ticket.from_dict({"ticket_id": "OLD-1", "unknown_attr": 1, "confidence": "n/a"})
    assert t.ticket_id == "OLD-1" and t.question == "" and t.confidence is None and t.sources == []
