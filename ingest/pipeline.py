"""Ingest: source pages -> structured text -> chunks -> embeddings (reused when unchanged) -> a published index."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np

from index_store.base import IndexStore
from index_store.exceptions import IndexCorrupt, IndexNotFound
from index_store.format import IndexBundle, StoredChunk, StoredPage, build_faiss_index, new_version_id
from index_store.lexical import LexicalIndex
from ingest.chunk import chunk_page
from ingest.embedders.base import Embedder
from ingest.model import Page
from ingest.parse import parse_storage
from ingest.sources.base import KnowledgeSource

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterable[T]]

CONTRACT_FIELDS = (
    "pages_seen",
    "pages_changed",
    "pages_deleted",
    "chunks_total",
    "chunks_embedded",
    "chunks_reused",
    "index_version",
)


@dataclass
class IngestSummary:
    pages_seen: int = 0
    pages_changed: int = 0
    pages_deleted: int = 0
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    index_version: str = ""
    pages_skipped: int = 0
    pages_empty: int = 0
    parse_warnings: int = 0
    source_warnings: int = 0
    duration_s: float = 0.0
    published: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The contract fields first, then compatible extras."""
        out: dict[str, Any] = {name: getattr(self, name) for name in CONTRACT_FIELDS}
        out.update(
            pages_skipped=self.pages_skipped,
            pages_empty=self.pages_empty,
            parse_warnings=self.parse_warnings,
            source_warnings=self.source_warnings,
            published=self.published,
            duration_s=round(self.duration_s, 3),
        )
        return out


def _no_progress(items: Iterable[T], _desc: str, _total: int) -> Iterable[T]:
    return items


@dataclass(frozen=True)
class IngestOptions:
    full: bool = False
    exclude_labels: tuple[str, ...] = ("helpdesk-exclude",)
    skip_restricted: bool = True
    index_type: str = "flat"
    batch_size: int = 64
    max_words: int = 180
    min_words: int = 40


def _load_previous(store: IndexStore, embedder: Embedder, summary: IngestSummary) -> IndexBundle | None:
    try:
        prev = store.load(with_embeddings=True)
    except IndexNotFound:
        return None
    except IndexCorrupt as exc:
        summary.warnings.append(f"previous index unusable, rebuilding in full: {exc}")
        return None
    if prev.embedder_id != embedder.embedder_id or prev.dimension != embedder.dimension:
        summary.warnings.append(
            f"previous index was built with {prev.embedder_id!r}; rebuilding in full with {embedder.embedder_id!r}"
        )
        return None
    return prev


def _in_scope(page: Page, options: IngestOptions) -> bool:
    if options.skip_restricted and page.restricted:
        return False
    return not set(page.labels) & set(options.exclude_labels)


def run_ingest(
    source: KnowledgeSource,
    embedder: Embedder,
    store: IndexStore,
    options: IngestOptions | None = None,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> IngestSummary:
    options = options or IngestOptions()
    progress = progress or _no_progress
    started = clock()
    summary = IngestSummary()
    prev = None if options.full else _load_previous(store, embedder, summary)

    prev_chunks: dict[str, list[int]] = {}
    cache: dict[str, np.ndarray] = {}
    if prev is not None:
        assert prev.embeddings is not None
        for row, chunk in enumerate(prev.chunks):
            prev_chunks.setdefault(chunk.page_id, []).append(row)
            cache[chunk.content_hash] = prev.embeddings[row]

    listed = list(source.pages(None))
    all_ids = source.page_ids()
    summary.pages_seen = len(listed)

    kept_pages: dict[str, StoredPage] = {}
    kept_chunks: list[StoredChunk] = []
    kept_vectors: list[np.ndarray | None] = []
    changed = 0
    for page in progress(listed, "parsing", len(listed)):
        if not _in_scope(page, options):
            summary.pages_skipped += 1
            continue
        old = prev.pages.get(page.page_id) if prev else None
        if prev is not None and old is not None and old.content_hash == page.content_hash:
            rows = prev_chunks.get(page.page_id, [])
            kept_pages[page.page_id] = old
            kept_chunks.extend(prev.chunks[r] for r in rows)
            kept_vectors.extend(prev.embeddings[r] for r in rows)  # type: ignore[index]
            continue
        changed += 1
        parsed = parse_storage(page.body)
        if parsed.warnings:
            summary.parse_warnings += len(parsed.warnings)
            summary.warnings.extend(f"page {page.page_id} ({page.title}): {w}" for w in parsed.warnings)
        chunks = chunk_page(
            page.page_id, page.title, page.ancestors, parsed, max_words=options.max_words, min_words=options.min_words
        )
        if not chunks:
            summary.pages_empty += 1
            summary.warnings.append(f"page {page.page_id} ({page.title}): empty body, nothing to index")
        kept_pages[page.page_id] = StoredPage(
            page_id=page.page_id,
            title=page.title,
            url=page.url,
            version=page.version,
            content_hash=page.content_hash,
            space_key=page.space_key,
            labels=page.labels,
        )
        for c in chunks:
            kept_chunks.append(
                StoredChunk(
                    chunk_id=c.chunk_id,
                    content_hash=c.content_hash,
                    page_id=c.page_id,
                    ordinal=c.ordinal,
                    title=c.title,
                    url=page.url,
                    breadcrumb=tuple(c.breadcrumb),
                    heading=c.heading,
                    body=c.body,
                )
            )
            kept_vectors.append(cache.get(c.content_hash))

    # Pages the source did not list but still has (an incremental listing) are carried over unchanged.
    if prev is not None:
        listed_ids = {p.page_id for p in listed}
        for pid in sorted((set(prev.pages) & all_ids) - listed_ids):
            kept_pages[pid] = prev.pages[pid]
            rows = prev_chunks.get(pid, [])
            kept_chunks.extend(prev.chunks[r] for r in rows)
            kept_vectors.extend(prev.embeddings[r] for r in rows)  # type: ignore[index]
        summary.pages_deleted = len(set(prev.pages) - set(kept_pages))
    summary.pages_changed = changed

    vectors = _embed_missing(embedder, kept_chunks, kept_vectors, options, progress, summary)
    summary.chunks_total = len(kept_chunks)
    summary.chunks_reused = summary.chunks_total - sum(1 for v in kept_vectors if v is None)
    report = getattr(source, "report", None)
    if report is not None:
        summary.source_warnings = len(report.warnings)
        summary.warnings[:0] = report.warnings

    if prev is not None and changed == 0 and summary.pages_deleted == 0:
        summary.index_version = prev.version
        summary.duration_s = clock() - started
        return summary

    order = sorted(range(len(kept_chunks)), key=lambda i: (kept_chunks[i].page_id, kept_chunks[i].ordinal))
    chunks = [kept_chunks[i] for i in order]
    matrix = vectors[order] if len(order) else np.zeros((0, embedder.dimension), dtype=np.float32)
    bundle = IndexBundle(
        embedder_id=embedder.embedder_id,
        dimension=embedder.dimension,
        chunks=chunks,
        pages=dict(sorted(kept_pages.items())),
        index=build_faiss_index(matrix, embedder.dimension, options.index_type),
        lexical=LexicalIndex.build([f"{c.header}\n{c.body}" for c in chunks]),
        embeddings=matrix,
        version=new_version_id(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        index_type=options.index_type,
    )
    summary.index_version = store.publish(bundle)
    summary.published = True
    summary.duration_s = clock() - started
    return summary


def _embed_missing(
    embedder: Embedder,
    chunks: Sequence[StoredChunk],
    vectors: list[np.ndarray | None],
    options: IngestOptions,
    progress: Progress,
    summary: IngestSummary,
) -> np.ndarray:
    """Embed each distinct new text once, in batches; fill the gaps in `vectors`. Returns an (n, d) matrix."""
    todo: dict[str, str] = {}
    for chunk, vec in zip(chunks, vectors, strict=True):
        if vec is None and chunk.content_hash not in todo:
            todo[chunk.content_hash] = f"{chunk.header}\n{chunk.body}"
    hashes = list(todo)
    fresh: dict[str, np.ndarray] = {}
    batches = [hashes[i : i + options.batch_size] for i in range(0, len(hashes), options.batch_size)]
    for batch in progress(batches, "embedding", len(batches)):
        out = np.asarray(embedder.embed_documents([todo[h] for h in batch]), dtype=np.float32)
        if out.shape != (len(batch), embedder.dimension):
            raise ValueError(f"embedder returned shape {out.shape} for {len(batch)} texts")
        fresh.update(zip(batch, out, strict=True))
        summary.chunks_embedded += len(batch)
    if not chunks:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.stack(
        [v if v is not None else fresh[c.content_hash] for c, v in zip(chunks, vectors, strict=True)]
    ).astype(np.float32)
