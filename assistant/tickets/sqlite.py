"""Local tickets in SQLite under HELPDESK_HOME. Idempotent creates via a UNIQUE idempotency key."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.exceptions import TicketError, TicketNotFound
from assistant.tickets.base import STATUSES, Ticket, new_ticket_id, utc_now

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


class SqliteTicketStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise TicketError(f"cannot open the local ticket store at {self.path}: {exc}") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            yield db
        finally:
            db.close()

    def create(self, ticket: Ticket) -> Ticket:
        now = utc_now()
        ticket.created_at = ticket.created_at or now
        ticket.updated_at = ticket.updated_at or now
        with self._lock, self._connect() as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                if ticket.idempotency_key:
                    row = db.execute(
                        "SELECT data FROM tickets WHERE idempotency_key = ?", (ticket.idempotency_key,)
                    ).fetchone()
                    if row:
                        db.execute("COMMIT")
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
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise TicketError(f"local ticket store failed: {exc}") from exc
        return ticket

    def get(self, ticket_id: str) -> Ticket:
        with self._connect() as db:
            row = db.execute("SELECT data FROM tickets WHERE ticket_id = ?", (ticket_id.strip().upper(),)).fetchone()
        if not row:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        return Ticket.from_dict(json.loads(row[0]))

    def list(self, *, status: str | None = None, requester: str | None = None, limit: int = 100) -> Sequence[Ticket]:
        query, args = "SELECT data FROM tickets", []
        where = []
        if status:
            where.append("status = ?")
            args.append(status)
        if requester:
            where.append("requester_id = ?")
            args.append(requester)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY created_at DESC, ticket_id LIMIT ?"
        args.append(limit)
        with self._connect() as db:
            rows = db.execute(query, args).fetchall()
        return [Ticket.from_dict(json.loads(r[0])) for r in rows]

    def update(self, ticket_id: str, **changes: Any) -> Ticket:
        if "status" in changes and changes["status"] not in STATUSES:
            raise TicketError(f"unknown status {changes['status']!r}; one of {', '.join(STATUSES)}")
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT data FROM tickets WHERE ticket_id = ?", (ticket_id.strip().upper(),)).fetchone()
            if not row:
                db.execute("ROLLBACK")
                raise TicketNotFound(f"no ticket {ticket_id!r}")
            data = json.loads(row[0])
            data.update(changes)
            data["updated_at"] = utc_now()
            ticket = Ticket.from_dict(data)
            db.execute(
                "UPDATE tickets SET status = ?, data = ? WHERE ticket_id = ?",
                (ticket.status, json.dumps(ticket.to_dict(), ensure_ascii=False), ticket.ticket_id),
            )
            db.execute("COMMIT")
        return ticket
