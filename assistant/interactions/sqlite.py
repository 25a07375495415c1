"""Local interaction log in SQLite under HELPDESK_HOME, next to the ticket database."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from assistant.interactions.base import Interaction, check_vote, iso
from assistant.interactions.exceptions import InteractionStoreError
from core.sqlite import connect, init_db, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    interaction_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    vote TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS interactions_by_time ON interactions (at);
"""
_WHAT = "local interaction log"


class SqliteInteractionStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        init_db(self.path, _SCHEMA, InteractionStoreError, _WHAT)

    def record(self, interaction: Interaction) -> None:
        with transaction(self.path, self._lock, InteractionStoreError, _WHAT) as db:
            db.execute("DELETE FROM interactions WHERE expires_at <= ?", (int(_epoch_of(interaction.at)),))
            db.execute(
                "INSERT INTO interactions (interaction_id, at, expires_at, vote, data) VALUES (?, ?, ?, NULL, ?)"
                " ON CONFLICT (interaction_id) DO UPDATE SET at = excluded.at, expires_at = excluded.expires_at,"
                " data = excluded.data",
                (
                    interaction.interaction_id,
                    interaction.at,
                    interaction.expires_at,
                    json.dumps(interaction.to_dict(), ensure_ascii=False),
                ),
            )

    def set_vote(self, interaction_id: str, vote: str) -> bool:
        check_vote(vote)
        with transaction(self.path, self._lock, InteractionStoreError, _WHAT) as db:
            cursor = db.execute("UPDATE interactions SET vote = ? WHERE interaction_id = ?", (vote, interaction_id))
            return cursor.rowcount > 0

    def since(self, start: datetime, *, now: datetime) -> list[Interaction]:
        try:
            with connect(self.path) as db:
                rows = db.execute(
                    "SELECT data, vote FROM interactions WHERE at >= ? AND expires_at > ? ORDER BY at, interaction_id",
                    (iso(start), int(now.timestamp())),
                ).fetchall()
        except sqlite3.Error as exc:
            raise InteractionStoreError(f"{_WHAT} failed: {exc}") from exc
        out = []
        for data, vote in rows:
            interaction = Interaction.from_dict(json.loads(data))
            interaction.vote = vote or interaction.vote
            out.append(interaction)
        return out


def _epoch_of(at: str) -> float:
    """The epoch seconds of an ISO `at` (what "now" was when the interaction was made)."""
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
