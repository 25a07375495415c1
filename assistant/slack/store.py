"""Dedupe ledger and feedback store: the protocols and the local SQLite implementation.

Dedupe is a claim with a lease, not a "seen" flag: the first delivery claims the key `in_progress` until
`lease_until`, and marks it `done` when it has answered. A redelivery finds `done` (drop it) or an unexpired
`in_progress` (another worker is on it: drop it); a claim whose lease ran out belonged to a delivery that never
finished, so the redelivery takes it over and answers. Items expire (`expires_at`, the DynamoDB TTL attribute).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.slack.exceptions import SlackStoreError
from core.sqlite import connect, init_db, transaction

ClaimResult = Literal["new", "in_progress", "done"]
VOTES = ("helpful", "not_helpful")
DONE_TTL_SECONDS = 24 * 3600  # Slack redelivers within minutes; a day is plenty
ANSWER_TTL_SECONDS = 30 * 24 * 3600  # how long "Open a ticket" / feedback buttons find their answer
VOTE_TTL_SECONDS = 400 * 24 * 3600


class EventLedger(Protocol):
    def claim(self, key: str, *, lease_seconds: float) -> ClaimResult:
        """Claim `key` for processing; "new" means the caller must process it and then `complete` it."""
        ...

    def complete(self, key: str) -> None: ...


class FeedbackStore(Protocol):
    def save_answer(self, ref: str, record: Mapping[str, Any]) -> None:
        """Keep what an answer's buttons need (question, answer, sources, where it was posted)."""
        ...

    def get_answer(self, ref: str) -> dict[str, Any] | None: ...

    def record_vote(self, ref: str, user_id: str, vote: str) -> None:
        """One vote per user per answer; a changed vote replaces the earlier one in the counts."""
        ...

    def counts(self, ref: str | None = None) -> dict[str, int]:
        """{"helpful": n, "not_helpful": m}, over every answer or one."""
        ...


def check_vote(vote: str) -> str:
    if vote not in VOTES:
        raise SlackStoreError(f"unknown vote {vote!r}; one of {', '.join(VOTES)}")
    return vote


_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, status TEXT NOT NULL, lease_until REAL NOT NULL,
                                   expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (ref TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS votes (ref TEXT NOT NULL, user_id TEXT NOT NULL, vote TEXT NOT NULL, at REAL NOT NULL,
                                  PRIMARY KEY (ref, user_id));
"""


class SqliteSlackStore:
    """Local dedupe + feedback in one SQLite file under HELPDESK_HOME (safe across threads and processes)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        init_db(self.path, _SCHEMA, SlackStoreError, "local Slack store")

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, self._lock, SlackStoreError, "local Slack store")

    def claim(self, key: str, *, lease_seconds: float) -> ClaimResult:
        now = self.clock()
        with self._transaction() as db:
            row = db.execute("SELECT status, lease_until, expires_at FROM claims WHERE key = ?", (key,)).fetchone()
            if row and row[2] > now:
                if row[0] == "done":
                    return "done"
                if row[1] > now:
                    return "in_progress"
            db.execute(
                "INSERT OR REPLACE INTO claims (key, status, lease_until, expires_at) VALUES (?, 'in_progress', ?, ?)",
                (key, now + lease_seconds, now + max(lease_seconds, DONE_TTL_SECONDS)),
            )
        return "new"

    def complete(self, key: str) -> None:
        now = self.clock()
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO claims (key, status, lease_until, expires_at) VALUES (?, 'done', ?, ?)",
                (key, now, now + DONE_TTL_SECONDS),
            )

    def save_answer(self, ref: str, record: Mapping[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO answers (ref, data, expires_at) VALUES (?, ?, ?)",
                (ref, json.dumps(dict(record), ensure_ascii=False), self.clock() + ANSWER_TTL_SECONDS),
            )

    def get_answer(self, ref: str) -> dict[str, Any] | None:
        try:
            with self._connect() as db:
                row = db.execute("SELECT data, expires_at FROM answers WHERE ref = ?", (ref,)).fetchone()
        except sqlite3.Error as exc:
            raise SlackStoreError(f"local Slack store failed: {exc}") from exc
        if not row or row[1] <= self.clock():
            return None
        return json.loads(row[0])

    def record_vote(self, ref: str, user_id: str, vote: str) -> None:
        check_vote(vote)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO votes (ref, user_id, vote, at) VALUES (?, ?, ?, ?)",
                (ref, user_id, vote, self.clock()),
            )

    def counts(self, ref: str | None = None) -> dict[str, int]:
        query = "SELECT vote, COUNT(*) FROM votes" + (" WHERE ref = ?" if ref else "") + " GROUP BY vote"
        try:
            with self._connect() as db:
                rows = db.execute(query, (ref,) if ref else ()).fetchall()
        except sqlite3.Error as exc:
            raise SlackStoreError(f"local Slack store failed: {exc}") from exc
        out = dict.fromkeys(VOTES, 0)
        out.update({vote: n for vote, n in rows})
        return out
