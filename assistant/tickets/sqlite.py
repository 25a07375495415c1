"""Local tickets in SQLite under HELPDESK_HOME. Idempotent creates via a UNIQUE idempotency key."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from assistant.exceptions import TicketError, TicketNotFound
from assistant.tickets.base import (
    OPEN_STATUSES,
    Clock,
    CompareAndSetStore,
    EmailStatus,
    Ticket,
    check_changes,
    new_ticket_id,
    normalise_status,
    status_spellings,
    system_clock,
    utc_now,
)
from core.sqlite import connect, init_db, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    status TEXT NOT NULL,
    requester_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_by_status ON tickets (status, created_at);
CREATE INDEX IF NOT EXISTS tickets_by_requester ON tickets (requester_id, created_at);
"""


def _matches(data: Mapping[str, Any], when: Mapping[str, Collection[str]]) -> bool:
    """`when` holds for `data` (statuses compared normalised, so an older "OPEN" row matches "open")."""
    for name, allowed in when.items():
        value = normalise_status(data.get(name)) if name == "status" else (data.get(name) or "")
        if value not in set(allowed):
            return False
    return True


class SqliteTicketStore(CompareAndSetStore):
    def __init__(self, path: str | Path, *, clock: Clock = system_clock) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        init_db(self.path, _SCHEMA, TicketError, "local ticket store")

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, self._lock, TicketError, "local ticket store")

    def create(self, ticket: Ticket) -> Ticket:
        now = utc_now(self._clock)
        ticket.created_at = ticket.created_at or now
        ticket.updated_at = ticket.updated_at or now
        with self._transaction() as db:
            if ticket.idempotency_key:
                row = db.execute(
                    "SELECT data FROM tickets WHERE idempotency_key = ?", (ticket.idempotency_key,)
                ).fetchone()
                if row:
                    return Ticket.from_dict(json.loads(row[0]))
            for _ in range(10):
                ticket.ticket_id = ticket.ticket_id or new_ticket_id()
                try:
                    db.execute(
                        "INSERT INTO tickets (ticket_id, idempotency_key, status, requester_id, created_at, data)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            ticket.ticket_id,
                            ticket.idempotency_key or None,
                            ticket.status,
                            ticket.requester_id,
                            ticket.created_at,
                            json.dumps(ticket.to_dict(), ensure_ascii=False),
                        ),
                    )
                    break
                except sqlite3.IntegrityError:  # id collision: draw another
                    ticket.ticket_id = ""
            else:
                raise TicketError("could not allocate a unique ticket id")
        return ticket

    @staticmethod
    def _row(db: sqlite3.Connection, ticket_id: str) -> tuple[str, str] | None:
        for candidate in dict.fromkeys((ticket_id.strip(), ticket_id.strip().upper())):
            row = db.execute("SELECT ticket_id, data FROM tickets WHERE ticket_id = ?", (candidate,)).fetchone()
            if row:
                return row[0], row[1]
        return None

    def get(self, ticket_id: str) -> Ticket:
        with self._connect() as db:
            row = self._row(db, ticket_id)
        if not row:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        return Ticket.from_dict(json.loads(row[1]))

    def list(
        self,
        *,
        status: str | None = None,
        requester: str | None = None,
        limit: int = 100,
        created_before: str | None = None,
        created_after: str | None = None,
    ) -> Sequence[Ticket]:
        query, args = "SELECT data FROM tickets", []
        where = []
        if status:
            spellings = status_spellings(status)
            where.append(f"status IN ({', '.join('?' for _ in spellings)})")
            args.extend(spellings)
        if requester:
            where.append("requester_id = ?")
            args.append(requester)
        if created_before:
            where.append("created_at != '' AND created_at < ?")
            args.append(created_before)
        if created_after:
            where.append("created_at >= ?")
            args.append(created_after)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY created_at DESC, ticket_id LIMIT ?"
        args.append(limit)
        with self._connect() as db:
            rows = db.execute(query, args).fetchall()
        tickets = [Ticket.from_dict(json.loads(r[0])) for r in rows]
        return [t for t in tickets if not status or t.status == status]

    def update_if(self, ticket_id: str, when: Mapping[str, Collection[str]], **changes: Any) -> Ticket | None:
        check_changes(changes)
        with self._transaction() as db:
            row = self._row(db, ticket_id)
            if not row:
                raise TicketNotFound(f"no ticket {ticket_id!r}")
            data = json.loads(row[1])
            if not _matches(data, when):
                return None
            data.update(changes)
            data["updated_at"] = utc_now(self._clock)
            ticket = Ticket.from_dict(data)
            db.execute(
                "UPDATE tickets SET status = ?, requester_id = ?, data = ? WHERE ticket_id = ?",
                (ticket.status, ticket.requester_id, json.dumps(ticket.to_dict(), ensure_ascii=False), row[0]),
            )
        return ticket

    def unsent(self, *, since: str, limit: int = 100) -> Sequence[Ticket]:
        marks = ", ".join("?" for _ in OPEN_STATUSES)
        with self._connect() as db:
            rows = db.execute(
                f"SELECT data FROM tickets WHERE status IN ({marks}) AND created_at >= ?"
                " ORDER BY created_at, ticket_id",
                (*OPEN_STATUSES, since),
            ).fetchall()
        tickets = [Ticket.from_dict(json.loads(r[0])) for r in rows]
        return [t for t in tickets if t.email_status not in (EmailStatus.SENT, "")][:limit]
