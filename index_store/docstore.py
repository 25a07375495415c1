"""Chunks and pages of a version in one SQLite file (`docstore.sqlite`), opened, not loaded.

- `chunks`: one row per chunk, `rowid` = the chunk's position (the FAISS id); its text is read only for the
  rows a query asks for;
- `pages`: the page table (id, title, url, version, content hash, space, labels);
- format 2 only (schema `helpdesk-docstore-2`; format 3 keeps its lexical index in `lexical.tantivy`,
  `index_store.tantivy_index`):
- `lexical`: an FTS5 table, contentless (the text lives once, in `chunks`), with three columns (`title`: breadcrumb
  and title; `heading`; `body`), each holding the tokens `index_store.lexical.tokenize` makes, so a query matches
  exactly the terms format 1 matched; `bm25()` ranks with a weight per column (docs/decisions/0013);
- `lexical_vocab`: the fts5vocab view over it (document frequency per term: the confidence ceiling and coverage);
- `meta`: what the file is and its counts, checked when it is opened.

The file is opened read-only and immutable (no locks, no journal), memory-mapped. A file that is not this schema,
or whose counts disagree with the manifest, raises `ValueError` (the caller turns it into `IndexCorrupt`).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

from index_store.lexical import tokenize

SCHEMA = "helpdesk-docstore-3"  # no lexical tables: format 3 keeps them in `lexical.tantivy`
SCHEMA_FTS5 = "helpdesk-docstore-2"  # format 2: with the FTS5 lexical index (read, and written for tests)
K1 = 1.2  # FTS5's bm25() constants
B = 0.75
DEFAULT_WEIGHTS = (2.0, 1.0, 1.0)  # title, heading, body: bench.lexical_weights, docs/decisions/0013
MMAP_BYTES = 1 << 30
_CHUNK_COLUMNS = "chunk_id, content_hash, page_id, ordinal, title, url, breadcrumb, heading, body"

_SCHEMA_SQL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE pages (
    page_id TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT NOT NULL, version INTEGER NOT NULL,
    content_hash TEXT NOT NULL, space_key TEXT NOT NULL, labels TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, content_hash TEXT NOT NULL, page_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL, title TEXT NOT NULL, url TEXT NOT NULL, breadcrumb TEXT NOT NULL, heading TEXT NOT NULL,
    body TEXT NOT NULL
);
"""
_FTS5_SQL = """
CREATE VIRTUAL TABLE lexical USING fts5(
    title, heading, body, content='', tokenize="unicode61 remove_diacritics 0 tokenchars '-'"
);
CREATE VIRTUAL TABLE lexical_vocab USING fts5vocab(lexical, 'row');
"""


def _tokens(text: str) -> str:
    return " ".join(tokenize(text))


def lexical_columns(breadcrumb: Sequence[str], title: str, heading: str, body: str) -> tuple[str, str, str]:
    """The three lexical columns of a chunk (pure): its tokens, split by where they stand. Together they are the
    tokens of `Chunk.embed_text`."""
    return _tokens(" ".join((*breadcrumb, title))), _tokens(heading), _tokens(body)


def match_expression(query: str) -> tuple[str, list[str]]:
    """The FTS5 MATCH string for a question (any of its terms) and its distinct terms (pure)."""
    terms = list(dict.fromkeys(tokenize(query)))
    return " OR ".join(f'"{t}"' for t in terms), terms


def bm25_idf(n_docs: int, df: int) -> float:
    """FTS5's idf, as `bm25()` computes it (a term in more than half the rows counts almost nothing)."""
    idf = math.log((n_docs - df + 0.5) / (df + 0.5))
    return idf if idf > 0 else 1e-6


class DocstoreWriter:
    """Writes a new docstore file row by row: chunks in FAISS order, pages in any order. `fts5=True` writes the
    format-2 file, with its FTS5 lexical index."""

    def __init__(self, path: Path, *, fts5: bool = False) -> None:
        self.path = path
        self.fts5 = fts5
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=8192;")
        self.conn.executescript(_SCHEMA_SQL + (_FTS5_SQL if fts5 else ""))
        self.conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_FTS5 if fts5 else SCHEMA,))
        self.conn.execute("BEGIN")
        self.chunks = 0
        self.pages = 0

    def add_chunks(self, chunks: Iterable[Any]) -> None:
        rows, lex = [], []
        for c in chunks:
            row = self.chunks
            self.chunks += 1
            crumbs = json.dumps(list(c.breadcrumb), ensure_ascii=False)
            rows.append(
                (row, c.chunk_id, c.content_hash, c.page_id, c.ordinal, c.title, c.url, crumbs, c.heading, c.body)
            )
            if self.fts5:
                lex.append((row, *lexical_columns(c.breadcrumb, c.title, c.heading, c.body)))
        self.conn.executemany(f"INSERT INTO chunks (row, {_CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        if lex:
            self.conn.executemany("INSERT INTO lexical (rowid, title, heading, body) VALUES (?,?,?,?)", lex)

    def add_pages(self, pages: Iterable[Any]) -> None:
        rows = [
            (p.page_id, p.title, p.url, p.version, p.content_hash, p.space_key, json.dumps(list(p.labels)))
            for p in pages
        ]
        self.pages += len(rows)
        self.conn.executemany("INSERT INTO pages VALUES (?,?,?,?,?,?,?)", rows)

    def close(self) -> None:
        self.conn.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("chunk_count", str(self.chunks)), ("page_count", str(self.pages))]
        )
        if self.fts5:
            self.conn.execute("INSERT INTO lexical (lexical) VALUES ('optimize')")
        self.conn.execute("COMMIT")
        self.conn.close()


def write_docstore(
    path: Path, chunks: Iterable[Any], pages: Iterable[Any], batch: int = 2000, *, fts5: bool = False
) -> None:
    writer = DocstoreWriter(path, fts5=fts5)
    try:
        pending: list[Any] = []
        for chunk in chunks:
            pending.append(chunk)
            if len(pending) >= batch:
                writer.add_chunks(pending)
                pending = []
        writer.add_chunks(pending)
        writer.add_pages(pages)
    except BaseException:
        writer.conn.close()
        raise
    writer.close()


class Docstore:
    """An open docstore file (read-only, shared by threads behind one lock)."""

    def __init__(self, path: Path, *, weights: Sequence[float] = DEFAULT_WEIGHTS) -> None:
        self.path = path
        self.weights = tuple(float(w) for w in weights)
        uri = f"file:{path}?mode=ro&immutable=1"
        self.lock = threading.Lock()
        try:
            self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self.conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            meta = dict(self.conn.execute("SELECT key, value FROM meta"))
            if meta.get("schema") not in (SCHEMA, SCHEMA_FTS5):
                raise ValueError(f"docstore schema is {meta.get('schema')!r}, not {SCHEMA!r}")
            self.has_fts5 = meta["schema"] == SCHEMA_FTS5
            self.chunk_count = int(meta["chunk_count"])
            self.page_count = int(meta["page_count"])
            (rows,) = self.conn.execute("SELECT max(row) + 1 FROM chunks").fetchone() or (0,)
            if (rows or 0) != self.chunk_count:
                raise ValueError("docstore chunk rows do not match its count")
            (pages,) = self.conn.execute("SELECT count(*) FROM pages").fetchone()
            if pages != self.page_count:
                raise ValueError("docstore page rows do not match its count")
            if self.has_fts5:
                self.conn.execute("SELECT count(*) FROM lexical_vocab WHERE term = ''").fetchone()
        except (sqlite3.Error, KeyError) as exc:
            raise ValueError(f"not a readable docstore: {exc}") from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


class ChunkTable(Sequence[Any]):
    """The chunks of a docstore as a read-only sequence; a chunk's row is read when it is asked for.
    `make` builds one chunk from its fields in `Chunk`'s order (`index_store.format.Chunk`)."""

    def __init__(self, store: Docstore, make: Callable[..., Any]) -> None:
        self.store = store
        self.make = make

    def _chunk(self, row: Sequence[Any]) -> Any:
        cid, chash, pid, ordinal, title, url, crumbs, heading, body = row
        return self.make(cid, chash, pid, int(ordinal), title, url, tuple(json.loads(crumbs)), heading, body)

    def __len__(self) -> int:
        return self.store.chunk_count

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return self.many(range(len(self))[index])
        n = len(self)
        row = index + n if index < 0 else index
        if not 0 <= row < n:
            raise IndexError("chunk index out of range")
        return self.many([row])[0]

    def many(self, rows: Sequence[int]) -> list[Any]:
        """The chunks at `rows`, in that order, in one query per 500 rows."""
        found: dict[int, Any] = {}
        wanted = list(dict.fromkeys(int(r) for r in rows))
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            for r in self.store.query(f"SELECT row, {_CHUNK_COLUMNS} FROM chunks WHERE row IN ({marks})", part):
                found[int(r[0])] = self._chunk(r[1:])
        return [found[int(r)] for r in rows]

    def page_ids(self, rows: Sequence[int]) -> list[str]:
        """The page id of each row (no text read)."""
        wanted = list(dict.fromkeys(int(r) for r in rows))
        found: dict[int, str] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            found.update(self.store.query(f"SELECT row, page_id FROM chunks WHERE row IN ({marks})", part))
        return [found[int(r)] for r in rows]

    def rows_of_pages(self, page_ids: Iterable[str]) -> set[int]:
        """The rows of every chunk of these pages."""
        wanted = list(dict.fromkeys(page_ids))
        out: set[int] = set()
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            out.update(r for (r,) in self.store.query(f"SELECT row FROM chunks WHERE page_id IN ({marks})", part))
        return out

    def keys(self) -> Iterator[tuple[int, str, str]]:
        """(row, page id, content hash) of every chunk, in row order, without their text."""
        with self.store.lock:
            cursor = self.store.conn.execute("SELECT row, page_id, content_hash FROM chunks ORDER BY row")
            rows = cursor.fetchall()
        return iter(rows)

    def __iter__(self) -> Iterator[Any]:
        last = -1
        while True:
            batch = self.store.query(
                f"SELECT row, {_CHUNK_COLUMNS} FROM chunks WHERE row > ? ORDER BY row LIMIT 2000", (last,)
            )
            if not batch:
                return
            for r in batch:
                yield self._chunk(r[1:])
            last = int(batch[-1][0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ChunkTable({self.store.path}, {len(self)} chunks)"


class PageTable(Mapping[str, Any]):
    """The page table of a docstore as a read-only mapping (rows read on demand)."""

    def __init__(self, store: Docstore, make: Callable[..., Any]) -> None:
        self.store = store
        self.make = make

    def _page(self, row: Sequence[Any]) -> Any:
        pid, title, url, version, chash, space, labels = row
        return self.make(pid, title, url, int(version), chash, space, tuple(json.loads(labels)))

    def __getitem__(self, page_id: str) -> Any:
        rows = self.store.query("SELECT * FROM pages WHERE page_id = ?", (page_id,))
        if not rows:
            raise KeyError(page_id)
        return self._page(rows[0])

    def __contains__(self, page_id: object) -> bool:
        return bool(self.store.query("SELECT 1 FROM pages WHERE page_id = ?", (page_id,)))

    def __len__(self) -> int:
        return self.store.page_count

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self.store.query("SELECT page_id FROM pages ORDER BY page_id")])

    def items(self) -> Any:
        return [(r[0], self._page(r)) for r in self.store.query("SELECT * FROM pages ORDER BY page_id")]

    def values(self) -> Any:
        return [p for _, p in self.items()]

    def __repr__(self) -> str:
        return f"PageTable({self.store.path}, {len(self)} pages)"


class FtsLexical:
    """BM25 over the docstore's FTS5 table: what `LexicalIndex` answers, without loading anything."""

    k1 = K1
    b = B

    def __init__(self, store: Docstore) -> None:
        if not store.has_fts5:
            raise ValueError("docstore has no FTS5 lexical index (format 3 keeps it in lexical.tantivy)")
        self.store = store

    @property
    def n_docs(self) -> int:
        return self.store.chunk_count

    def _df(self, terms: Sequence[str]) -> dict[str, int]:
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        return dict(self.store.query(f"SELECT term, doc FROM lexical_vocab WHERE term IN ({marks})", list(terms)))

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """The `limit` best (row, BM25) for the query, best first; [] when no term matches."""
        expression, _ = match_expression(query)
        if not expression or self.n_docs == 0 or limit <= 0:
            return []
        w = self.store.weights
        rows = self.store.query(
            "SELECT rowid, -bm25(lexical, ?, ?, ?) AS s FROM lexical WHERE lexical MATCH ? ORDER BY s DESC, rowid "
            "LIMIT ?",
            (*w, expression, int(limit)),
        )
        return [(int(r), float(s)) for r, s in rows]

    def query_terms_known(self, query: str) -> tuple[int, int]:
        terms = list(dict.fromkeys(tokenize(query)))
        return len(self._df(terms)), len(terms)

    def max_score(self, query: str) -> float:
        """The most any row could score for the query: sum of idf * (k1 + 1) over its distinct terms (a weighted
        frequency saturates at k1 + 1 whatever the weights), terms never seen counting with the largest idf."""
        terms = list(dict.fromkeys(tokenize(query)))
        if self.n_docs == 0:
            return 0.0
        df = self._df(terms)
        return sum(bm25_idf(self.n_docs, df.get(t, 0)) * (self.k1 + 1.0) for t in terms)
