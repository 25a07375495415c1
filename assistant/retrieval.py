"""Hybrid retrieval: BM25 and dense search, fused by reciprocal rank at page level, returned as distinct pages.

Each list (dense cosine, BM25) ranks chunks; a page takes the rank of its best chunk in each list, and the two page
rankings are fused with weighted RRF. Fusing pages rather than chunks lets a page whose best dense chunk and best
BM25 chunk differ still collect both votes (docs/decisions/0006 has the measurements behind every default here).
The chunks of a page keep their own chunk-level RRF order, which `assistant.sources` uses to pick the best ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from index_store.base import IndexStore
from index_store.docstore import ChunkTable
from index_store.format import Chunk, IndexBundle
from ingest.embedders.base import Embedder

log = logging.getLogger(__name__)
RRF_K = 60
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class ChunkHit:
    chunk: Chunk
    dense: float  # cosine similarity, -1..1
    lexical: float  # BM25 score
    fused: float  # chunk-level RRF score (orders the chunks inside a page)


@dataclass
class PageHit:
    page_id: str
    title: str
    url: str
    score: float  # page-level fused score, scaled so the best possible (first in both lists) is 1.0
    dense: float  # best chunk cosine
    lexical: float  # best chunk BM25
    chunks: list[ChunkHit] = field(default_factory=list)


@dataclass
class RetrievalResult:
    query: str
    pages: list[PageHit]
    query_terms: int = 0  # lexical terms in the query
    known_terms: int = 0  # of those, terms that occur anywhere in the index
    lexical_top_page: str | None = None
    dense_top_page: str | None = None
    lexical_match: float = 0.0  # best chunk's BM25 over the most the query could score (0..1)


class Retriever(Protocol):
    def retrieve(self, query: str, k: int = 10) -> RetrievalResult: ...


def rrf(rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int = RRF_K) -> dict[str, float]:
    """Weighted reciprocal-rank fusion of ranked key lists (pure): sum of w / (k + rank), rank from 1."""
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, 1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused


def pages_in_order(chunk_ids: Sequence[int], chunks: Sequence[Chunk]) -> list[str]:
    """Distinct page ids in the order of their best chunk (pure)."""
    return list(dict.fromkeys(chunks[i].page_id for i in chunk_ids))


def _page_ids(chunks: Sequence[Chunk], rows: Sequence[int]) -> list[str]:
    """The page id of each row; an opened index reads only those rows' ids, not their text."""
    if isinstance(chunks, ChunkTable):
        return chunks.page_ids(rows)
    return [chunks[r].page_id for r in rows]


def _chunks_at(chunks: Sequence[Chunk], rows: Sequence[int]) -> dict[int, Chunk]:
    if isinstance(chunks, ChunkTable):
        return dict(zip(rows, chunks.many(rows), strict=True))
    return {r: chunks[r] for r in rows}


def _rows_of_pages(chunks: Sequence[Chunk], page_ids: Collection[str]) -> set[int]:
    if not page_ids:
        return set()
    if isinstance(chunks, ChunkTable):
        return chunks.rows_of_pages(page_ids)
    return {i for i, c in enumerate(chunks) if c.page_id in page_ids}


def single_threaded_search() -> None:
    """One query at a time searches fastest on one OpenMP thread: FAISS's flat search over 100k x 256 takes ~20 ms
    on one thread and ~50 ms with two on the 2-core machines measured (docs/decisions/0006). Process-wide, idempotent.
    """
    import faiss  # heavy: only where an index is searched

    if faiss.omp_get_max_threads() != 1:
        faiss.omp_set_num_threads(1)


class HybridRetriever:
    """Dense (FAISS inner product) + BM25 candidates, fused with weighted RRF at page level."""

    def __init__(
        self,
        bundle: IndexBundle,
        embedder: Embedder,
        *,
        candidates: int = 50,
        rrf_k: int = RRF_K,
        dense_weight: float = DENSE_WEIGHT,
        lexical_weight: float = LEXICAL_WEIGHT,
        fusion: str = "page",
    ) -> None:
        if fusion not in ("page", "chunk"):
            raise ValueError(f"fusion must be 'page' or 'chunk', not {fusion!r}")
        self.bundle = bundle
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.weights = (dense_weight, lexical_weight)
        self.fusion = fusion  # "chunk": the foundation's chunk-level RRF, kept for the tuning benchmark
        single_threaded_search()

    def retrieve(self, query: str, k: int = 10, *, exclude: Collection[str] = ()) -> RetrievalResult:
        """The k best pages; `exclude` leaves those page ids out, as if they were not in the index (the gate's
        self-calibration asks what a question looks like when its page is missing)."""
        chunks = self.bundle.chunks
        n = len(chunks)
        lexical = self.bundle.lexical
        known, total = lexical.query_terms_known(query)
        result = RetrievalResult(query=query, pages=[], query_terms=total, known_terms=known)
        if n == 0:
            return result
        left_out = _rows_of_pages(chunks, exclude)
        depth = min(n, max(self.candidates, 4 * k) + len(left_out))
        qvec = np.asarray(self.embedder.embed_query(query), dtype=np.float32).reshape(1, -1)
        while True:  # deepen until the dense list alone covers k distinct pages (or the whole index)
            dense_scores, dense_ids = self.bundle.index.search(qvec, depth)
            dense_rank = [int(i) for i in dense_ids[0] if i >= 0 and int(i) not in left_out]
            page_of = dict(zip(dense_rank, _page_ids(chunks, dense_rank), strict=True))
            if len(set(page_of.values())) >= k or depth >= n:
                break
            depth = min(n, depth * 4)
        dense_by_id = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0}

        # BM25 candidates from the lexical index; a chunk outside them counts 0 in `ChunkHit.lexical`.
        lex_hits = [(r, s) for r, s in lexical.search(query, depth + len(left_out)) if r not in left_out][:depth]
        lex_rank = [row for row, _ in lex_hits]
        bm25 = dict(lex_hits)
        if lex_rank:
            ceiling = lexical.max_score(query)
            result.lexical_match = min(1.0, lex_hits[0][1] / ceiling) if ceiling > 0 else 0.0
        lex_only = [r for r in lex_rank if r not in page_of]
        page_of.update(zip(lex_only, _page_ids(chunks, lex_only), strict=True))

        missing_dense = [i for i in lex_rank if i not in dense_by_id]
        if missing_dense:
            vecs = np.stack([self.bundle.index.reconstruct(i) for i in missing_dense])
            for i, s in zip(missing_dense, vecs @ qvec[0], strict=True):
                dense_by_id[i] = float(s)

        chunk_fused = rrf([dense_rank, lex_rank], self.weights, self.rrf_k)
        page_fused = rrf(
            [list(dict.fromkeys(page_of[i] for i in dense_rank)), list(dict.fromkeys(page_of[i] for i in lex_rank))],
            self.weights,
            self.rrf_k,
        )
        best = sum(w / (self.rrf_k + 1) for w in self.weights)
        pages: dict[str, PageHit] = {}
        fused_rows = sorted(chunk_fused, key=lambda i: (-chunk_fused[i], i))
        read = _chunks_at(chunks, fused_rows)  # the candidates' rows only
        for idx in fused_rows:
            chunk = read[idx]
            hit = ChunkHit(chunk=chunk, dense=dense_by_id[idx], lexical=bm25.get(idx, 0.0), fused=chunk_fused[idx])
            page = pages.get(chunk.page_id)
            if page is None:
                page = pages[chunk.page_id] = PageHit(
                    page_id=chunk.page_id,
                    title=chunk.title,
                    url=chunk.url,
                    score=page_fused[chunk.page_id] / best,
                    dense=hit.dense,
                    lexical=hit.lexical,
                )
            page.dense = max(page.dense, hit.dense)
            page.lexical = max(page.lexical, hit.lexical)
            page.chunks.append(hit)
        if self.fusion == "chunk":  # pages in the order of their best chunk; score from that chunk
            ranked = list(pages.values())
            for page in ranked:
                page.score = page.chunks[0].fused / best
        else:
            # Equal fused scores are a symmetric swap: one page is i-th by dense and j-th by BM25, the other the
            # other way round. The more specific page (deeper in the page tree) wins: a section overview is a list
            # of links to its children and scores close to each of them in both lists. Then the dense score.
            ranked = sorted(
                pages.values(),
                key=lambda p: (-page_fused[p.page_id], -len(p.chunks[0].chunk.breadcrumb), -p.dense, p.page_id),
            )
        result.pages = ranked[:k]
        if dense_rank:
            result.dense_top_page = page_of[dense_rank[0]]
        if lex_rank:
            result.lexical_top_page = page_of[lex_rank[0]]
        return result


def distinct_page_ids(result: RetrievalResult) -> list[str]:
    return [p.page_id for p in result.pages]


def top_chunks(hits: Sequence[PageHit], per_page: int = 3) -> list[ChunkHit]:
    out: list[ChunkHit] = []
    for page in hits:
        out.extend(page.chunks[:per_page])
    return out


class RefreshingRetriever:
    """Serves the published index and picks up new versions while the process lives (a warm Lambda, `serve`).

    The pointer is re-read at most every `refresh_seconds`; a new version is loaded, checked against the embedder
    and swapped in. A version that cannot be read (corrupt, built by another embedder, S3 unreachable) is logged
    and the loaded one keeps serving.
    """

    def __init__(
        self,
        store: IndexStore,
        embedder: Embedder,
        *,
        candidates: int = 50,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        bundle: IndexBundle | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._retriever = HybridRetriever(self._checked(bundle or store.load()), embedder, candidates=candidates)
        self._checked_at = clock()

    @property
    def bundle(self) -> IndexBundle:
        return self._retriever.bundle

    def _checked(self, bundle: IndexBundle) -> IndexBundle:
        from index_store.format import check_embedder

        manifest = {"embedder": {"id": bundle.embedder_id, "dimension": bundle.dimension}}
        check_embedder(manifest, self.embedder.embedder_id, self.embedder.dimension, self.store.location)
        return bundle

    def refresh(self) -> bool:
        """Load the published version if it changed; True when a new version was swapped in."""
        from index_store.exceptions import IndexStoreError

        self._checked_at = self.clock()
        try:
            if self.store.current_version() == self.bundle.version:
                return False
            bundle = self._checked(self.store.load())
        except IndexStoreError as exc:
            log.warning(
                "published index not loaded, still serving the loaded version",
                extra={"serving_version": self.bundle.version, "reason": str(exc)},
            )
            return False
        if bundle.version == self.bundle.version:
            return False
        self._retriever = HybridRetriever(bundle, self.embedder, candidates=self.candidates)
        log.info("index version swapped in", extra={"index_version": bundle.version})
        return True

    def retrieve(self, query: str, k: int = 10) -> RetrievalResult:
        if self.clock() - self._checked_at >= self.refresh_seconds:
            self.refresh()
        return self._retriever.retrieve(query, k=k)
