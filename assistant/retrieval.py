"""Hybrid retrieval: BM25 and dense search fused by reciprocal rank, returned as distinct pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from index_store.format import IndexBundle, StoredChunk
from ingest.embedders.base import Embedder

RRF_K = 60


@dataclass(frozen=True, slots=True)
class ChunkHit:
    chunk: StoredChunk
    dense: float  # cosine similarity, -1..1
    lexical: float  # BM25 score
    fused: float  # RRF score


@dataclass
class PageHit:
    page_id: str
    title: str
    url: str
    score: float  # fused score of the page's best chunk, scaled so the best possible is 1.0
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


class Retriever(Protocol):
    def retrieve(self, query: str, k: int = 10) -> RetrievalResult: ...


class HybridRetriever:
    """Dense (FAISS inner product) + BM25 candidates, fused with RRF at chunk level, grouped by page."""

    def __init__(self, bundle: IndexBundle, embedder: Embedder, *, candidates: int = 50) -> None:
        self.bundle = bundle
        self.embedder = embedder
        self.candidates = candidates

    def retrieve(self, query: str, k: int = 10) -> RetrievalResult:
        n = len(self.bundle.chunks)
        known, total = self.bundle.lexical.query_terms_known(query)
        result = RetrievalResult(query=query, pages=[], query_terms=total, known_terms=known)
        if n == 0:
            return result
        depth = min(n, max(self.candidates, 4 * k))
        qvec = np.asarray(self.embedder.embed_query(query), dtype=np.float32).reshape(1, -1)
        while True:  # deepen until the dense list alone covers k distinct pages (or the whole index)
            dense_scores, dense_ids = self.bundle.index.search(qvec, depth)
            distinct = {self.bundle.chunks[int(i)].page_id for i in dense_ids[0] if i >= 0}
            if len(distinct) >= k or depth >= n:
                break
            depth = min(n, depth * 4)
        dense_rank = [int(i) for i in dense_ids[0] if i >= 0]
        dense_by_id = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0}

        bm25 = self.bundle.lexical.scores(query)
        nz = int(np.count_nonzero(bm25))
        lex_rank: list[int] = []
        if nz:
            top = np.argpartition(-bm25, min(depth, nz) - 1)[: min(depth, nz)]
            lex_rank = [int(i) for i in top[np.argsort(-bm25[top], kind="stable")]]

        fused: dict[int, float] = {}
        for ranking in (dense_rank, lex_rank):
            for rank, idx in enumerate(ranking):
                fused[idx] = fused.get(idx, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = 2.0 / (RRF_K + 1)
        missing_dense = [i for i in fused if i not in dense_by_id]
        if missing_dense:
            vecs = np.stack([self.bundle.index.reconstruct(i) for i in missing_dense])
            for i, s in zip(missing_dense, vecs @ qvec[0], strict=True):
                dense_by_id[i] = float(s)

        pages: dict[str, PageHit] = {}
        for idx in sorted(fused, key=lambda i: (-fused[i], i)):
            chunk = self.bundle.chunks[idx]
            hit = ChunkHit(chunk=chunk, dense=dense_by_id[idx], lexical=float(bm25[idx]), fused=fused[idx])
            page = pages.get(chunk.page_id)
            if page is None:
                page = pages[chunk.page_id] = PageHit(
                    page_id=chunk.page_id,
                    title=chunk.title,
                    url=chunk.url,
                    score=fused[idx] / best,
                    dense=hit.dense,
                    lexical=hit.lexical,
                )
            page.dense = max(page.dense, hit.dense)
            page.lexical = max(page.lexical, hit.lexical)
            page.chunks.append(hit)
        result.pages = list(pages.values())[:k]
        if dense_rank:
            result.dense_top_page = self.bundle.chunks[dense_rank[0]].page_id
        if lex_rank:
            result.lexical_top_page = self.bundle.chunks[lex_rank[0]].page_id
        return result


def distinct_page_ids(result: RetrievalResult) -> list[str]:
    return [p.page_id for p in result.pages]


def top_chunks(hits: Sequence[PageHit], per_page: int = 3) -> list[ChunkHit]:
    out: list[ChunkHit] = []
    for page in hits:
        out.extend(page.chunks[:per_page])
    return out
