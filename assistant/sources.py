"""Turn retrieval hits into numbered sources within a token budget (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.model import Source
from assistant.retrieval import PageHit


def estimate_tokens(text: str) -> int:
    """About 4 characters per token for English prose (Claude and Titan are close to this)."""
    return max(1, (len(text) + 3) // 4)


def build_sources(
    pages: Sequence[PageHit], *, max_sources: int = 5, token_budget: int = 3000, chunks_per_page: int = 3
) -> list[Source]:
    """Best pages first; each page's best chunks merged in page order; stop at the budget."""
    sources: list[Source] = []
    used = 0
    for page in pages[:max_sources]:
        hits = sorted(page.chunks[:chunks_per_page], key=lambda h: h.chunk.ordinal)
        parts: list[str] = []
        last_heading = None
        for hit in hits:
            block = (
                hit.chunk.body
                if hit.chunk.heading == last_heading
                else (f"## {hit.chunk.heading}\n{hit.chunk.body}" if hit.chunk.heading else hit.chunk.body)
            )
            cost = estimate_tokens(block)
            if used + cost > token_budget and (sources or parts):
                break
            parts.append(block)
            used += cost
            last_heading = hit.chunk.heading
        if not parts:
            break
        first = hits[0].chunk
        sources.append(
            Source(
                number=len(sources) + 1,
                page_id=page.page_id,
                title=page.title,
                url=page.url,
                breadcrumb=first.breadcrumb,
                text="\n".join(parts),
                score=page.score,
            )
        )
        if used >= token_budget:
            break
    return sources
