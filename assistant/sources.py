"""Turn retrieval hits into numbered sources within a token budget (pure).

Candidates are the best `chunks_per_page` chunks of each of the best `max_sources` pages. They are taken best first
(each page's best chunk, in page order; then each page's second best; ...) while they fit the budget, counting each
source's title, breadcrumb and url once. A page's chunks are then put back in page order: adjacent chunks are merged
into one passage, and a gap between them is marked "[…]". Sources are numbered by page rank, from 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.model import Source

if TYPE_CHECKING:  # typing only: keeps numpy out of the prompt path
    from assistant.retrieval import ChunkHit, PageHit

GAP = "[…]"


def estimate_tokens(text: str) -> int:
    """About 4 characters per token for English prose (Claude and Titan are close to this)."""
    return max(1, (len(text) + 3) // 4)


def _chunk_text(hit: ChunkHit) -> str:
    c = hit.chunk
    return f"## {c.heading}\n{c.body}" if c.heading else c.body


def _overhead(page: PageHit, hit: ChunkHit) -> int:
    crumbs = " > ".join((*hit.chunk.breadcrumb, page.title))
    return estimate_tokens(f'<source n="10">\ntitle: {page.title}\nbreadcrumb: {crumbs}\nurl: {page.url}\ncontent:\n')


def merge_chunks(hits: Sequence[ChunkHit]) -> str:
    """Chunks of one page in page order; adjacent ones run on (a repeated heading line is dropped), gaps marked."""
    parts: list[str] = []
    last_ordinal: int | None = None
    last_heading: str | None = None
    for hit in sorted(hits, key=lambda h: h.chunk.ordinal):
        c = hit.chunk
        if last_ordinal is not None and c.ordinal != last_ordinal + 1:
            parts.append(GAP)
            last_heading = None
        parts.append(c.body if c.heading and c.heading == last_heading else _chunk_text(hit))
        last_ordinal, last_heading = c.ordinal, c.heading
    return "\n".join(parts)


def build_sources(
    pages: Sequence[PageHit], *, max_sources: int = 5, token_budget: int = 3000, chunks_per_page: int = 3
) -> list[Source]:
    """Numbered sources whose text (with per-source headers) stays within `token_budget` estimated tokens."""
    ranked = [p for p in pages[:max_sources] if p.chunks]
    order = sorted(
        ((pos, rank) for rank, p in enumerate(ranked) for pos in range(min(chunks_per_page, len(p.chunks)))),
    )
    taken: dict[int, list[ChunkHit]] = {}
    used = 0
    for pos, rank in order:
        page = ranked[rank]
        hit = page.chunks[pos]
        cost = estimate_tokens(_chunk_text(hit)) + (0 if rank in taken else _overhead(page, hit))
        if used + cost > token_budget:
            continue  # a smaller chunk further down may still fit
        taken.setdefault(rank, []).append(hit)
        used += cost
    if not taken and ranked:  # even the best chunk alone is over budget: send a cut of it
        page, hit = ranked[0], ranked[0].chunks[0]
        room = max(1, token_budget - _overhead(page, hit)) * 4
        return [_source(1, page, _chunk_text(hit)[:room].rstrip() + " " + GAP)]
    return [_source(n, ranked[rank], merge_chunks(taken[rank])) for n, rank in enumerate(sorted(taken), 1)]


def _source(number: int, page: PageHit, text: str) -> Source:
    return Source(
        number=number,
        page_id=page.page_id,
        title=page.title,
        url=page.url,
        breadcrumb=page.chunks[0].chunk.breadcrumb,
        text=text,
        score=page.score,
    )
