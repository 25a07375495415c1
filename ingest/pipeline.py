"""Ingest: source pages -> structured text -> chunks -> embeddings (reused when unchanged) -> a published index.

Incremental by construction:
- the previous index is the state: its page table (id -> version, content hash), its chunks and their embeddings
  (the embedding cache, valid for the same embedder id and dimension), and `extra["ingest_state"]` (watermark and
  last deletion sweep, see `ingest.state`);
- an unchanged page costs its listing entry; a changed page is re-parsed and re-chunked, and only chunks whose
  content hash is new are embedded;
- sources that list everything each run (exports) show deletions directly; incremental sources (live Confluence)
  list what changed since the watermark, plus the full id listing when the sweep is due. A page is dropped only when
  two id listings in a row miss it, so a listing that shifts under concurrent edits cannot delete a live page;
- nothing is published when the run fails part-way, or when nothing changed;
- a file of the source that cannot be read fails the run (`UnreadableSource`); with `allow_partial` the rest is
  indexed and the pages of the previous index the listing did not show are kept, never deleted;
- an index without chunks is never published over one with chunks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from index_store.base import IndexStore
from index_store.docstore import ChunkTable
from index_store.exceptions import IndexCorrupt, IndexNotFound, IndexStoreError
from index_store.format import Chunk, IndexBundle, StoredPage, build_faiss_index, new_version_id, npy_matrix
from ingest.chunk import chunk_page
from ingest.embedders.base import Embedder, ServiceEmbedder
from ingest.exceptions import EmptySource, UnreadableSource
from ingest.model import Page
from ingest.parse import parse_storage
from ingest.plan import ChangePlan, PageAction, confirmed_gone, nothing_changed, stored_page
from ingest.sources.base import IdListingSource, IncrementalSource, KnowledgeSource, MeteredSource, SourceReport
from ingest.state import IngestState, format_when, plan_listing

if TYPE_CHECKING:
    from ingest.config import IngestConfig

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
_EXTRA_FIELDS = (
    "pages_skipped",
    "pages_restricted",
    "pages_empty",
    "parse_warnings",
    "source_warnings",
    "published",
    "listing",
    "deletion_sweep",
)
_VECTOR_BATCH = 8192  # reused vectors copied at a time into the new matrix
_METERED_FIELDS = ("embed_calls", "embed_input_tokens", "embed_retries", "embed_throttles", "source_calls")


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
    pages_restricted: int = 0
    pages_empty: int = 0
    parse_warnings: int = 0
    source_warnings: int = 0
    duration_s: float = 0.0
    published: bool = False
    listing: str = "full"  # full | incremental
    deletion_sweep: bool = False
    embed_calls: int | None = None  # reported by embedders that call a service (Titan: one call per chunk)
    embed_input_tokens: int | None = None
    embed_retries: int | None = None
    embed_throttles: int | None = None  # ThrottlingExceptions received (each one retried)
    source_calls: int | None = None  # HTTP requests to the source (live Confluence)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The contract fields first, then compatible extras."""
        out: dict[str, Any] = {name: getattr(self, name) for name in (*CONTRACT_FIELDS, *_EXTRA_FIELDS)}
        out["duration_s"] = round(self.duration_s, 3)
        out.update((name, getattr(self, name)) for name in _METERED_FIELDS if getattr(self, name) is not None)
        return out


def _no_progress(items: Iterable[T], _desc: str, _total: int) -> Iterable[T]:
    return items


@dataclass(frozen=True)
class IngestOptions:
    full: bool = False  # rebuild: list everything and re-embed every chunk
    sweep: bool = False  # list everything (deletions included) but reuse the embedding cache
    exclude_labels: tuple[str, ...] = ("helpdesk-exclude",)
    skip_restricted: bool = True
    index_type: str = "sq8"  # as HELPDESK_INDEX_TYPE defaults (decision 0003)
    batch_size: int = 64
    max_words: int = 180
    min_words: int = 40
    deletion_sweep_hours: float = 0.0  # 0: the id listing runs on every incremental run
    allow_partial: bool = False  # index what could be read; keep the pages of files that could not be

    @classmethod
    def from_config(
        cls,
        config: IngestConfig,
        *,
        index_type: str = "sq8",
        full: bool = False,
        sweep: bool = False,
        allow_partial: bool = False,
    ) -> IngestOptions:
        return cls(
            full=full,
            sweep=sweep,
            allow_partial=allow_partial,
            exclude_labels=config.exclude_labels,
            skip_restricted=config.skip_restricted,
            index_type=index_type,
            deletion_sweep_hours=config.deletion_sweep_hours,
        )


@dataclass
class _Entry:
    """One page as it goes into the new index: the chunks made for it this run, or the rows it is carried over
    with. Rows (`rows`, and `reuse` for a made chunk whose content hash the earlier index has) are positions in
    `source`, read only when a new version is written."""

    page: StoredPage
    source: _Previous
    made: list[Chunk] = field(default_factory=list)
    reuse: list[int | None] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.made) + len(self.rows)

    @property
    def reused(self) -> int:
        return len(self.rows) + sum(1 for r in self.reuse if r is not None)


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


def _published_page_ids(store: IndexStore) -> set[str]:
    try:
        return set(store.load().pages)
    except IndexStoreError:
        return set()


def _published_chunks(store: IndexStore) -> tuple[str, int]:
    """(version, chunk count) of the published index; ("", 0) when there is none that can be read."""
    try:
        bundle = store.load()
    except IndexStoreError:
        return "", 0
    return bundle.version, len(bundle.chunks)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def unreadable_cause(report: SourceReport) -> str:
    """'3 files could not be read or are not valid JSON (first: a.json)' (pure); '' when every file was read."""
    if not report.unreadable:
        return ""
    n = len(report.unreadable)
    verb = "is" if n == 1 else "are"
    return f"{_plural(n, 'file')} could not be read or {verb} not valid JSON (first: {report.unreadable[0]})"


def empty_causes(report: SourceReport) -> str:
    """Why a source listed no page to index, from its report (pure)."""
    causes = [unreadable_cause(report)] if report.unreadable else []
    if report.objects_skipped:
        causes.append(f"{_plural(report.objects_skipped, 'object')} skipped, not a Confluence page")
    if report.restricted_skipped:
        causes.append(f"{_plural(report.restricted_skipped, 'restricted page')} left out")
    return "; ".join(causes)


def _build_entry(page: Page, previous: _Previous, options: IngestOptions, summary: IngestSummary) -> _Entry:
    parsed = parse_storage(page.body)
    if parsed.warnings:
        summary.parse_warnings += len(parsed.warnings)
        summary.warnings.extend(f"page {page.page_id} ({page.title}): {w}" for w in parsed.warnings)
    chunks = chunk_page(
        page.page_id,
        page.title,
        page.ancestors,
        parsed,
        max_words=options.max_words,
        min_words=options.min_words,
        url=page.url,
    )
    if not chunks:
        summary.pages_empty += 1
        summary.warnings.append(f"page {page.page_id} ({page.title}): empty body, nothing to index")
    return _Entry(stored_page(page), previous, made=chunks, reuse=[previous.cache.get(c.content_hash) for c in chunks])


def _total(items: Iterable[Any]) -> Any:
    return len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]


def run_ingest(
    source: KnowledgeSource,
    embedder: Embedder,
    store: IndexStore,
    options: IngestOptions | None = None,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> IngestSummary:
    """List, diff, embed and publish. The decisions are `ingest.plan`'s (pure); the I/O is at the edges: the
    previous index and the listing in, the embedding calls, the new index out."""
    options = options or IngestOptions()
    progress = progress or _no_progress
    started, started_at = clock(), now()
    summary = IngestSummary()
    prev = None if options.full else _load_previous(store, embedder, summary)
    before = _published_page_ids(store) if options.full else set()  # only to report deletions honestly
    previous = _Previous(prev)

    incremental = isinstance(source, IncrementalSource)
    source_key = source.state_key if isinstance(source, IncrementalSource) else ""
    prev_state = IngestState.from_extra(prev.extra) if prev is not None else None
    listing = plan_listing(
        prev_state,
        incremental=incremental,
        source_key=source_key,
        full=options.full,
        sweep=options.sweep,
        sweep_hours=options.deletion_sweep_hours,
        now=started_at,
    )
    summary.listing = "full" if listing.since is None else "incremental"
    summary.deletion_sweep = listing.since is None or listing.sweep
    log.info("ingest listing", extra={"listing": summary.listing, "reason": listing.reason})

    plan = ChangePlan(watermark=prev_state.watermark if prev_state and listing.since else None)
    entries: dict[str, _Entry] = {}
    pages_iter = source.pages(listing.since)
    for page in progress(pages_iter, "parsing", _total(pages_iter)):
        old = previous.pages.get(page.page_id)
        action = plan.admit(page, old, exclude_labels=options.exclude_labels, skip_restricted=options.skip_restricted)
        if action is None:
            continue
        entries.pop(page.page_id, None)
        if action is PageAction.CHANGED:
            entries[page.page_id] = _build_entry(page, previous, options, summary)
        elif action is not PageAction.OUT_OF_SCOPE and old is not None:  # unchanged content: the hash is the old one
            entries[page.page_id] = previous.entry(page.page_id, stored_page(page, content_hash=old.content_hash))
    summary.pages_seen = len(plan.listed)
    summary.pages_skipped = len(plan.listed) - len(entries)
    summary.pages_restricted = plan.restricted
    if source.report.unreadable and listing.since is None:
        before |= _keep_unread_pages(store, embedder, previous, plan, entries, source.report, options, summary)

    # An incremental listing shows only what changed: carry the other pages over, unless the sweep says they are gone.
    if prev is not None and listing.since is not None:
        candidates = plan.unlisted(set(previous.pages))
        if listing.sweep and isinstance(source, IdListingSource):
            first = source.page_ids()
            second = source.page_ids() if candidates - first else None  # a page is gone only when both miss it
            candidates -= confirmed_gone(candidates, first, second)
        for pid in sorted(candidates):
            entries[pid] = previous.entry(pid)
    if prev is not None:
        before = set(previous.pages)
    summary.pages_deleted = len(before - set(entries))
    summary.pages_changed = len(plan.ids(PageAction.CHANGED))
    if not entries:  # a wrong space key, an empty or junk-only export: never publish an empty index over a good one
        causes = empty_causes(source.report)
        raise EmptySource(
            f"the source has no pages to index ({summary.pages_seen} listed, {summary.pages_skipped} skipped"
            f"{': ' + causes if causes else ''}); nothing was published and the current index keeps serving"
        )

    summary.chunks_total = sum(e.size for e in entries.values())
    if not summary.chunks_total:
        _refuse_chunkless(store, prev, len(entries), source.report)
    summary.chunks_reused = sum(e.reused for e in entries.values())
    summary.source_warnings = len(source.report.warnings)
    summary.warnings[:0] = source.report.warnings
    if isinstance(source, MeteredSource):
        summary.source_calls = int(source.calls)

    state = IngestState()
    if incremental:
        last_sweep = prev_state.last_sweep if prev_state else None
        if summary.deletion_sweep:
            last_sweep = format_when(started_at)
        state = IngestState(source_key, plan.watermark, last_sweep)
    unchanged = nothing_changed(
        plan,
        deleted=summary.pages_deleted,
        state_changed=incremental and state != prev_state,
        retyped=prev is not None and prev.index_type != options.index_type,
    )
    if prev is not None and unchanged:  # nothing was made this run, so nothing is embedded: only the counts
        _embed_missing(embedder, {}, _discard, options, progress, summary)
        summary.index_version = prev.version
        summary.duration_s = clock() - started
        return summary

    chunks, matrix, todo = _gather(entries, embedder.dimension)
    _embed_missing(embedder, todo, matrix.__setitem__, options, progress, summary)
    bundle = _assemble(embedder, chunks, matrix, entries, options, state.to_extra() if incremental else {})
    if prev is not None:  # same embedder: the confidence gate fitted on the previous version carries over
        bundle.calibration = prev.calibration
    summary.index_version = store.publish(bundle)
    summary.published = True
    summary.duration_s = clock() - started
    return summary


def _keep_unread_pages(
    store: IndexStore,
    embedder: Embedder,
    previous: _Previous,
    plan: ChangePlan,
    entries: dict[str, _Entry],
    report: SourceReport,
    options: IngestOptions,
    summary: IngestSummary,
) -> set[str]:
    """Some files could not be read: fail (`UnreadableSource`), or with `allow_partial` carry over every page of
    the previous index this listing did not show, since it may be in one of those files. Returns the ids of the
    previous index (what deletions are counted against)."""
    cause = unreadable_cause(report)
    if not options.allow_partial:
        raise UnreadableSource(
            f"{cause}; nothing was published and the current index keeps serving. Fix or remove the file, or pass "
            "--allow-partial to index the rest and keep the pages of the files that could not be read"
        )
    carried = previous if previous.bundle is not None else _Previous(_load_previous(store, embedder, summary))
    if carried.bundle is None:
        unseen = _published_page_ids(store) - set(plan.listed)
        if unseen:
            raise UnreadableSource(
                f"{cause}, and the published index cannot be reused to keep the {len(unseen)} pages this listing "
                "did not show; nothing was published. Fix or remove the file and run the ingest again"
            )
        return set()
    kept = plan.unlisted(set(carried.pages))
    for pid in sorted(kept):
        entries[pid] = carried.entry(pid)
    if kept:
        summary.warnings.append(
            f"{cause}: kept {_plural(len(kept), 'page')} of the previous index this listing did not show"
        )
    return set(carried.pages)


def _refuse_chunkless(store: IndexStore, prev: IndexBundle | None, pages: int, report: SourceReport) -> None:
    """Never publish an index without chunks over one with chunks (an export made without bodies)."""
    version, chunks = (prev.version, len(prev.chunks)) if prev is not None else _published_chunks(store)
    if not chunks:
        return
    hint = (
        f", {report.bodiless} of them without a body: was the export made with expand=body.storage?"
        if report.bodiless
        else ": every body is empty"
    )
    raise EmptySource(
        f"the new index would have no chunks ({_plural(pages, 'page')}{hint}); nothing was published and the "
        f"current index (version {version}, {_plural(chunks, 'chunk')}) keeps serving"
    )


class _Previous:
    """The previous index as the run uses it, read without any chunk text: its page records, its rows by page and
    the row of each content hash (the embedding cache). Chunks and vectors are read, in bulk, only for a new version.
    """

    def __init__(self, bundle: IndexBundle | None) -> None:
        self.bundle = bundle
        self.pages: dict[str, StoredPage] = dict(bundle.pages.items()) if bundle is not None else {}
        self.rows: dict[str, list[int]] = {}
        self.cache: dict[str, int] = {}
        if bundle is not None:
            for row, page_id, content_hash in _chunk_keys(bundle.chunks):
                self.rows.setdefault(page_id, []).append(row)
                self.cache[content_hash] = row

    def entry(self, page_id: str, page: StoredPage | None = None) -> _Entry:
        """The page carried over as it was indexed (with `page` as its new record, when given)."""
        return _Entry(page or self.pages[page_id], self, rows=self.rows.get(page_id, []))

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks at `rows`, in that order, read in bulk."""
        assert self.bundle is not None
        table = self.bundle.chunks
        return table.many(rows) if isinstance(table, ChunkTable) else [table[r] for r in rows]

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The embeddings at `rows`, in that order, by fancy-indexing the (memory-mapped) matrix."""
        assert self.bundle is not None and self.bundle.embeddings is not None
        return np.asarray(self.bundle.embeddings[np.asarray(rows, dtype=np.int64)], dtype=np.float32)


def _chunk_keys(chunks: Sequence[Chunk]) -> Iterable[tuple[int, str, str]]:
    """(row, page id, content hash) of every chunk: from the docstore without reading text, or off the chunks of
    an index held in memory."""
    if isinstance(chunks, ChunkTable):
        return chunks.keys()
    return ((row, c.page_id, c.content_hash) for row, c in enumerate(chunks))


def _discard(_positions: Any, _vectors: Any) -> None:
    return None


def _gather(
    entries: dict[str, _Entry], dimension: int
) -> tuple[list[Chunk], np.ndarray, dict[str, tuple[Chunk, list[int]]]]:
    """The chunks of the new index in page and position order, the (n, d) matrix of their vectors with the reused
    ones filled in, and what is left to embed: content hash -> (a chunk with it, its rows in the matrix). The
    carried-over chunks are read in one go per earlier index, their vectors by indexing its matrix."""
    carried: dict[_Previous, list[int]] = {}
    for entry in entries.values():
        if entry.rows:
            carried.setdefault(entry.source, []).extend(entry.rows)
    read = {source: iter(source.chunks(rows)) for source, rows in carried.items()}
    chunks: list[Chunk] = []
    reused: dict[_Previous, tuple[list[int], list[int]]] = {}  # source -> (positions in `chunks`, its rows)
    missing: list[int] = []
    for entry in entries.values():
        spots = reused.setdefault(entry.source, ([], []))
        for row in entry.rows:
            spots[0].append(len(chunks))
            spots[1].append(row)
            chunks.append(next(read[entry.source]))
        for chunk, row in zip(entry.made, entry.reuse, strict=True):
            if row is None:
                missing.append(len(chunks))
            else:
                spots[0].append(len(chunks))
                spots[1].append(row)
            chunks.append(chunk)

    order = sorted(range(len(chunks)), key=lambda i: (chunks[i].page_id, chunks[i].ordinal))
    place = np.empty(len(order), dtype=np.int64)
    place[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
    matrix = npy_matrix(len(order), dimension)  # inside the bytes of embeddings.npy: written without a copy
    for source, (positions, rows) in reused.items():
        for i in range(0, len(rows), _VECTOR_BATCH):
            at = place[np.asarray(positions[i : i + _VECTOR_BATCH], dtype=np.int64)]
            matrix[at] = source.vectors(rows[i : i + _VECTOR_BATCH])
    todo: dict[str, tuple[Chunk, list[int]]] = {}
    for i in missing:
        todo.setdefault(chunks[i].content_hash, (chunks[i], []))[1].append(int(place[i]))
    return [chunks[i] for i in order], matrix, todo


def _assemble(
    embedder: Embedder,
    chunks: list[Chunk],
    matrix: np.ndarray,
    entries: dict[str, _Entry],
    options: IngestOptions,
    extra: dict[str, Any],
) -> IndexBundle:
    """The new index in memory (pure): chunks in page and position order, aligned with the rows of `matrix`."""
    return IndexBundle(
        embedder_id=embedder.embedder_id,
        dimension=embedder.dimension,
        chunks=chunks,
        pages={pid: entries[pid].page for pid in sorted(entries)},
        index=build_faiss_index(matrix, embedder.dimension, options.index_type),
        lexical=None,  # the docstore builds the lexical index when the version is written
        embeddings=matrix,
        version=new_version_id(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        index_type=options.index_type,
        extra=extra,
    )


def _embed_missing(
    embedder: Embedder,
    todo: dict[str, tuple[Chunk, list[int]]],
    put: Callable[[Any, np.ndarray], None],
    options: IngestOptions,
    progress: Progress,
    summary: IngestSummary,
) -> None:
    """Embed each distinct new text once, in batches, and `put(positions, vectors)` each batch where it goes (a
    text's vector at every position that holds it). The text to embed is made batch by batch, never all at once."""
    hashes = list(todo)
    metered = isinstance(embedder, ServiceEmbedder)
    batch_size = embedder.batch_size if metered and embedder.batch_size > 0 else options.batch_size
    stats = embedder.stats if metered else None
    before = stats.snapshot() if stats is not None else None
    batches = [hashes[i : i + batch_size] for i in range(0, len(hashes), batch_size)]
    try:
        for batch in progress(batches, "embedding", len(batches)):
            out = np.asarray(embedder.embed_documents([todo[h][0].embed_text for h in batch]), dtype=np.float32)
            if out.shape != (len(batch), embedder.dimension):
                raise ValueError(f"embedder returned shape {out.shape} for {len(batch)} texts")
            spots = [(p, j) for j, h in enumerate(batch) for p in todo[h][1]]
            put(np.asarray([p for p, _ in spots], dtype=np.int64), out[[j for _, j in spots]])
            summary.chunks_embedded += len(batch)
    finally:
        if stats is not None and before is not None:
            after = stats.snapshot()
            summary.embed_calls = after.calls - before.calls
            summary.embed_input_tokens = after.input_tokens - before.input_tokens
            summary.embed_retries = after.retries - before.retries
            summary.embed_throttles = after.throttles - before.throttles
