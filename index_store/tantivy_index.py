"""The lexical side of index format 3: a tantivy index over the chunks, packed in one file (`lexical.tantivy`).

tantivy is a search engine (a Rust library, its Python binding on PyPI) with BM25 and block-max WAND: a top-k
query skips the postings that cannot reach the k-th score, so its cost grows with the results asked for, not with
the rows that match (docs/decisions/0017 has the measurements against SQLite FTS5, format 2).

- One text field of the tokens `index_store.lexical.tokenize` makes (the engine splits on whitespace only), so a
  query matches exactly the terms formats 1 and 2 matched. The title and breadcrumb tokens are written
  `TITLE_WEIGHT` times: the same weighted term frequency as FTS5's column weights (2, 1, 1).
- A stored, fast `row` field: the chunk's position (its FAISS id and docstore row).
- The index directory is packed, uncompressed, into one zip file, so a version keeps its flat list of files, each
  with its sha256 in the manifest. Readers unpack it once per version next to the file (or into a temporary
  folder when that is read-only) and open the engine on the unpacked folder, memory-mapped.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from index_store.lexical import tokenize

K1 = 1.2  # tantivy's BM25 constants
B = 0.75
TITLE_WEIGHT = 2
FIELD = "text"
WRITER_HEAP_BYTES = 64_000_000
_LOCKS = (".tantivy-meta.lock", ".tantivy-writer.lock")


def _schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("row", stored=True)
    builder.add_text_field(FIELD, stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def lexical_text(breadcrumb: Sequence[str], title: str, heading: str, body: str) -> str:
    """The indexed text of a chunk (pure): its tokens, the title's repeated `TITLE_WEIGHT` times."""
    head = " ".join(tokenize(" ".join((*breadcrumb, title))))
    rest = " ".join(tokenize(heading) + tokenize(body))
    return " ".join([head] * TITLE_WEIGHT + [rest]).strip()


def bm25_idf(n_docs: int, df: int) -> float:
    """tantivy's idf (Lucene's): never negative, so a term in most rows still counts a little."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def build_lexical(folder: Path, chunks: Iterable[Any]) -> int:
    """Index the chunks (in FAISS order) into an empty folder; returns how many. Memory stays within the writer's
    heap whatever the number of chunks: the engine flushes segments to disk as it goes."""
    import tantivy

    index = tantivy.Index(_schema(), path=str(folder))
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
    count = 0
    for chunk in chunks:
        doc = tantivy.Document()
        doc.add_unsigned("row", count)
        doc.add_text(FIELD, lexical_text(chunk.breadcrumb, chunk.title, chunk.heading, chunk.body))
        writer.add_document(doc)
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


def pack(folder: Path) -> bytes:
    """The engine's folder as one uncompressed zip (sorted names, fixed timestamps; no lock files)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name not in _LOCKS:
                info = zipfile.ZipInfo(path.name, date_time=(2000, 1, 1, 0, 0, 0))
                archive.writestr(info, path.read_bytes())
    return out.getvalue()


def lexical_bytes(chunks: Iterable[Any]) -> bytes:
    """The `lexical.tantivy` file of these chunks."""
    folder = Path(tempfile.mkdtemp(prefix="helpdesk-lexical-"))
    try:
        build_lexical(folder, chunks)
        return pack(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unpack(archive_path: Path, into: Path) -> None:
    """Unpack into `into` atomically (a sibling temporary folder renamed into place). Member names are plain file
    names: anything with a separator or a dot-dot is refused."""
    tmp = Path(tempfile.mkdtemp(dir=into.parent, prefix=f".{into.name}."))
    try:
        with zipfile.ZipFile(archive_path) as archive:
            for info in archive.infolist():
                name = info.filename
                if not name or "/" in name or "\\" in name or name.startswith(".."):
                    raise ValueError(f"lexical archive member {name!r} is not a plain file name")
                with archive.open(info) as src, open(tmp / name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        try:
            os.rename(tmp, into)
        except OSError:
            if not into.is_dir():  # another process unpacked the same version first: use theirs
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def unpacked(archive_path: Path, sha256: str) -> Path:
    """The folder holding this (verified) archive's files: `.lexical-<sha>` beside it, unpacked on first use; a
    temporary folder when the archive's folder is read-only."""
    into = archive_path.parent / f".lexical-{sha256[:24]}"
    if (into / "meta.json").is_file():
        return into
    try:
        _unpack(archive_path, into)
        return into
    except PermissionError:
        into = Path(tempfile.gettempdir()) / f"helpdesk-lexical-{sha256[:24]}"
        if not (into / "meta.json").is_file():
            _unpack(archive_path, into)
        return into


class TantivyLexical:
    """BM25 over an unpacked lexical index: what `LexicalIndex` and `FtsLexical` answer."""

    k1 = K1
    b = B

    def __init__(self, folder: Path, expected_rows: int) -> None:
        import tantivy

        try:
            self.index = tantivy.Index.open(str(folder))
            self.searcher = self.index.searcher()
        except (ValueError, OSError) as exc:
            raise ValueError(f"not a readable lexical index: {exc}") from exc
        if self.searcher.num_docs != expected_rows:
            raise ValueError(f"lexical index holds {self.searcher.num_docs} rows, not {expected_rows}")
        self.schema = self.index.schema
        self.folder = folder

    @property
    def n_docs(self) -> int:
        return int(self.searcher.num_docs)

    def _df(self, terms: Sequence[str]) -> dict[str, int]:
        return {t: int(self.searcher.doc_freq(FIELD, t)) for t in terms}

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """The `limit` best (row, BM25) for the query, best first; [] when no term matches."""
        import tantivy

        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or self.n_docs == 0 or limit <= 0:
            return []
        should = tantivy.Occur.Should
        parts = [(should, tantivy.Query.term_query(self.schema, FIELD, t)) for t in terms]
        hits = self.searcher.search(tantivy.Query.boolean_query(parts), int(limit)).hits
        rows = [(int(self.searcher.doc(address)["row"][0]), float(score)) for score, address in hits]
        rows.sort(key=lambda r: (-r[1], r[0]))
        return rows

    def query_terms_known(self, query: str) -> tuple[int, int]:
        terms = list(dict.fromkeys(tokenize(query)))
        return sum(1 for df in self._df(terms).values() if df > 0), len(terms)

    def max_score(self, query: str) -> float:
        """The most any row could score for the query: sum of idf * (k1 + 1) over its distinct terms (a term's
        frequency saturates at k1 + 1), terms never seen counting with the largest idf."""
        terms = list(dict.fromkeys(tokenize(query)))
        if self.n_docs == 0:
            return 0.0
        df = self._df(terms)
        return sum(bm25_idf(self.n_docs, df.get(t, 0)) * (self.k1 + 1.0) for t in terms)
