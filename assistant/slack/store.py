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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.model import Decision, SourceRef
from assistant.slack.exceptions import SlackStoreError
from core.sqlite import connect, init_db, transaction

ClaimResult = Literal["new", "in_progress", "done"]
VOTES = ("helpful", "not_helpful")
DONE_TTL_SECONDS = 24 * 3600  # Slack redelivers within minutes; a day is plenty
ANSWER_TTL_SECONDS = 30 * 24 * 3600  # how long "Open a ticket" / feedback buttons find their answer
VOTE_TTL_SECONDS = 400 * 24 * 3600


@dataclass
class AnswerRecord:
    """What an answer's buttons need: the question, what the bot replied, its sources and where it was posted.

    Stored as one JSON object with these keys in this order; `confidence` and `ticket_id` only when set.
    """

    question: str = ""
    user: str = ""
    channel: str = ""
    thread_ts: str = ""
    answer: str = ""
    draft_answer: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)  # SourceRef.to_json() each
    decision: str = Decision.ANSWER
    confidence: float | None = None
    ticket_id: str | None = None
    answer_ts: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "question": self.question,
            "user": self.user,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "answer": self.answer,
            "draft_answer": self.draft_answer,
            "sources": list(self.sources),
            "decision": self.decision,
        }
        if self.confidence is not None:
            data["confidence"] = self.confidence
        if self.ticket_id is not None:
            data["ticket_id"] = self.ticket_id
        data["answer_ts"] = self.answer_ts
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnswerRecord:
        """Tolerant of records missing keys (they come back blank)."""

        def text(name: str) -> str:
            return str(data.get(name) or "")

        confidence = data.get("confidence")
        return cls(
            question=text("question"),
            user=text("user"),
            channel=text("channel"),
            thread_ts=text("thread_ts"),
            answer=text("answer"),
            draft_answer=text("draft_answer"),
            sources=[dict(s) for s in data.get("sources") or [] if isinstance(s, Mapping)],
            decision=text("decision"),
            confidence=confidence if isinstance(confidence, int | float) else None,
            ticket_id=str(data["ticket_id"]) if data.get("ticket_id") else None,
            answer_ts=text("answer_ts"),
        )

    def source_refs(self) -> list[SourceRef]:
        return [
            SourceRef(
                str(s.get("page_id", "")), str(s.get("title", "")), str(s.get("url", "")), float(s.get("score", 0))
            )
            for s in self.sources
        ]

    def ticket_draft(self) -> str:
        """The answer as IT should see it: the reply when it answered, the draft the gate held back otherwise."""
        return self.answer if self.decision == Decision.ANSWER else self.draft_answer


class EventLedger(Protocol):
    def claim(self, key: str, *, lease_seconds: float) -> ClaimResult:
        """Claim `key` for processing; "new" means the caller must process it and then `complete` it."""
        ...

    def complete(self, key: str) -> None: ...


class FeedbackStore(Protocol):
    def save_answer(self, ref: str, record: AnswerRecord) -> None:
        """Keep what an answer's buttons need (question, answer, sources, where it was posted)."""
        ...

    def get_answer(self, ref: str) -> AnswerRecord | None: ...

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

    def save_answer(self, ref: str, record: AnswerRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO answers (ref, data, expires_at) VALUES (?, ?, ?)",
                (ref, json.dumps(record.to_json(), ensure_ascii=False), self.clock() + ANSWER_TTL_SECONDS),
            )

    def get_answer(self, ref: str) -> AnswerRecord | None:
        try:
            with self._connect() as db:
                row = db.execute("SELECT data, expires_at FROM answers WHERE ref = ?", (ref,)).fetchone()
        except sqlite3.Error as exc:
            raise SlackStoreError(f"local Slack store failed: {exc}") from exc
        if not row or row[1] <= self.clock():
            return None
        return AnswerRecord.from_json(json.loads(row[0]))

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
