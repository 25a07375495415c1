"""SQLite as the local stores use it: WAL, autocommit (explicit BEGIN IMMEDIATE where needed), closed after use."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        yield db
    finally:
        db.close()


def init_db(path: Path, schema: str, error: type[Exception], what: str) -> None:
    """Create the folder and the schema; any failure becomes `error` naming `what` and the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with connect(path) as db:
            db.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise error(f"cannot open the {what} at {path}: {exc}") from exc


@contextmanager
def transaction(
    path: Path, lock: AbstractContextManager[object], error: type[Exception], what: str
) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT` under `lock`; rolled back on any exception. SQLite failures (a locked
    database, a full disk) become `error` naming `what`; other exceptions pass through unchanged."""
    with lock, connect(path) as db:
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            if db.in_transaction:
                db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise error(f"{what} failed: {exc}") from exc
            raise
