"""Retrieval from an Amazon Bedrock Knowledge Base (`bedrock-agent-runtime` `Retrieve`) behind the `Retriever`
protocol, so the confidence gate, the answerers and the tickets work on its results unchanged.

Selected by HELPDESK_RETRIEVER=bedrock-kb with HELPDESK_KNOWLEDGE_BASE_ID. One `Retrieve` call per question, hybrid
search (`overrideSearchType: HYBRID`), `3 * k` chunks at most (the API caps `numberOfResults` at 100), grouped into
one `PageHit` per page in the order of each page's best chunk. The request is built and the reply parsed by pure
functions; the endpoint comes from botocore (`AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME`). Throttling and 5xx are
retried through `core.retry` within a few seconds (a user is waiting); every other failure, and the retries running
out, is a `KnowledgeBaseError` naming the knowledge base and the IAM action.

Which page a chunk belongs to, read from each retrieval result, first found wins:

- page id: metadata `page_id` (our own, docs/configuration.md); else the Confluence page id in the URL
  (`/pages/<id>` or `?pageId=<id>`); else the URL; else `documentId`.
- title: metadata `title`, then `x-amz-bedrock-kb-title`; else the URL's last path segment
  (`.../pages/123/VPN+setup` gives "VPN setup"); else the URL.
- url: metadata `url`, then `x-amz-bedrock-kb-source-uri` (what a Confluence or S3 data source sets); else
  `location.<type>Location.url` (or `.uri`).

What the knowledge base cannot provide is filled so that the gate's features keep their meaning (see
`assistant/confidence.py`): `dense` is the knowledge base's relevance score of the chunk. There is no BM25 over the
corpus, so `lexical` and `lexical_match` are a BM25 of the chunk without idf, over the most the question could score
(`lexical_match` below; question terms as `index_store.lexical.tokenize` makes them); `known_terms` counts the terms
found in any returned chunk (not in the whole corpus); `lexical_top_page` is the page of the best such match. The
gate is not fitted to these: the embedder-independent fallback applies until HELPDESK_CONFIDENCE_WEIGHTS is fitted
against the knowledge base (docs/decisions/0012). The chunks of a page carry no position, so `assistant.sources`
marks a gap between any two of them.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote_plus, urlparse

from assistant.exceptions import KnowledgeBaseError
from assistant.retrieval import ChunkHit, PageHit, RetrievalResult
from core.aws import LazyClient, error_code, error_message
from core.retry import RetriesExhausted, RetryPolicy, call_with_retries
from index_store.format import Chunk
from index_store.lexical import tokenize

if TYPE_CHECKING:
    from assistant.config import AnswerConfig

SEARCH_TYPE = "HYBRID"
MAX_RESULTS = 100  # the API's limit on numberOfResults
CHUNKS_PER_PAGE = 3  # chunks asked for per page wanted
SOURCE_URI = "x-amz-bedrock-kb-source-uri"
KB_TITLE = "x-amz-bedrock-kb-title"
CHUNK_ID = "x-amz-bedrock-kb-chunk-id"
_CONFLUENCE_PAGE = re.compile(r"/pages/(\d+)(?:/|$)")
_CONFLUENCE_PAGE_ID = re.compile(r"[?&]pageId=(\d+)")


class RetrieveClient(Protocol):
    def retrieve(self, **kwargs: Any) -> Mapping[str, Any]: ...


def retrieve_request(knowledge_base_id: str, query: str, k: int) -> dict[str, Any]:
    """The keyword arguments of `bedrock-agent-runtime.retrieve` for the best `k` pages (pure)."""
    return {
        "knowledgeBaseId": knowledge_base_id,
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {
                "numberOfResults": max(1, min(MAX_RESULTS, CHUNKS_PER_PAGE * k)),
                "overrideSearchType": SEARCH_TYPE,
            }
        },
    }


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _location_url(location: Any) -> str:
    if not isinstance(location, Mapping):
        return ""
    for key, value in location.items():
        if key.endswith("Location") and isinstance(value, Mapping):
            found = _text(value.get("url")) or _text(value.get("uri"))
            if found:
                return found
    return ""


def _title_from_url(url: str) -> str:
    path = urlparse(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1] if path else ""
    if not last or last.isdigit():
        return ""
    return unquote_plus(last).strip()


def page_of(result: Mapping[str, Any]) -> tuple[str, str, str]:
    """(page id, title, url) of one retrieval result, from its metadata and location (pure; see the table above)."""
    metadata = result.get("metadata")
    meta = metadata if isinstance(metadata, Mapping) else {}
    url = _text(meta.get("url")) or _text(meta.get(SOURCE_URI)) or _location_url(result.get("location"))
    page_id = _text(meta.get("page_id"))
    if not page_id and url:
        match = _CONFLUENCE_PAGE.search(urlparse(url).path) or _CONFLUENCE_PAGE_ID.search(url)
        page_id = match.group(1) if match else url
    page_id = page_id or _text(result.get("documentId"))
    title = _text(meta.get("title")) or _text(meta.get(KB_TITLE)) or _title_from_url(url) or url or page_id
    return page_id, title, url


def lexical_match(terms: frozenset[str], tokens: list[str], avg_len: float, k1: float = 1.2, b: float = 0.75) -> float:
    """BM25 of one chunk over the most the query could score, every term weighing the same (pure, 0..1).

    The knowledge base gives no corpus statistics, so there is no idf: each distinct query term adds
    tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len)), and the sum is divided by (k1 + 1) per term, as
    `LexicalIndex.max_score` bounds the index's own BM25. `avg_len` is the mean length of the returned chunks."""
    if not terms or not tokens:
        return 0.0
    counts: dict[str, int] = {}
    for token in tokens:
        if token in terms:
            counts[token] = counts.get(token, 0) + 1
    norm = k1 * (1.0 - b + b * len(tokens) / max(avg_len, 1.0))
    total = sum(tf * (k1 + 1.0) / (tf + norm) for tf in counts.values())
    return min(1.0, total / ((k1 + 1.0) * len(terms)))


def parse_retrieve(response: Mapping[str, Any], query: str, k: int) -> RetrievalResult:
    """The `RetrievalResult` of a `Retrieve` reply: one `PageHit` per page, best first, at most `k` (pure).

    Results without text or without anything naming their page are dropped; a reply without a results list is a
    `KnowledgeBaseError`."""
    items = response.get("retrievalResults") if isinstance(response, Mapping) else None
    if not isinstance(items, list):
        raise KnowledgeBaseError("the knowledge base's Retrieve reply has no retrievalResults list")
    terms = frozenset(tokenize(query))
    result = RetrievalResult(query=query, pages=[], query_terms=len(terms))
    kept: list[tuple[Mapping[str, Any], str, tuple[str, str, str], list[str]]] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        content = item.get("content")
        body = _text(content.get("text")) if isinstance(content, Mapping) else ""
        names = page_of(item)
        if body and names[0]:
            kept.append((item, body, names, tokenize(body)))
    avg_len = sum(len(tokens) for *_, tokens in kept) / len(kept) if kept else 1.0
    pages: dict[str, PageHit] = {}
    found: set[str] = set()
    best_match = -1.0
    for item, body, (page_id, title, url), tokens in kept:
        raw = item.get("score")
        score = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 0.0
        match = lexical_match(terms, tokens, avg_len)
        found |= terms.intersection(tokens)
        page = pages.get(page_id)
        if page is None:
            page = pages[page_id] = PageHit(page_id, title, url, score=score, dense=score, lexical=match)
        metadata = item.get("metadata")
        chunk_id = _text(metadata.get(CHUNK_ID)) if isinstance(metadata, Mapping) else ""
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        chunk = Chunk(
            chunk_id=chunk_id or digest[:32],
            content_hash=digest,
            page_id=page_id,
            ordinal=2 * len(page.chunks),  # no position in the page is known: never adjacent, a gap between each
            title=page.title,
            url=page.url,
            breadcrumb=(),
            heading="",
            body=body,
        )
        page.chunks.append(ChunkHit(chunk=chunk, dense=score, lexical=match, fused=score))
        page.score = max(page.score, score)
        page.dense = max(page.dense, score)
        page.lexical = max(page.lexical, match)
        if match > best_match:
            best_match, result.lexical_top_page = match, page_id
    ranked = sorted(pages.values(), key=lambda p: -p.score)  # stable: equal scores keep the reply's order
    result.pages = ranked[:k]
    result.known_terms = len(found)
    result.lexical_match = max(best_match, 0.0)
    result.dense_top_page = ranked[0].page_id if ranked else None
    return result


class KnowledgeBaseRetriever:
    """A `Retriever` over a Bedrock Knowledge Base: one `Retrieve` call per question, throttling retried."""

    def __init__(
        self,
        knowledge_base_id: str,
        *,
        client: RetrieveClient | None = None,
        max_attempts: int = 4,
        budget_s: float = 6.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.knowledge_base_id = knowledge_base_id
        self._runtime = LazyClient.single_attempt("bedrock-agent-runtime", client, connect_timeout=3, read_timeout=10)
        self.retry = RetryPolicy(
            max_attempts=max_attempts, budget_s=budget_s, base_s=backoff_base_s, cap_s=backoff_cap_s
        )
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter

    @classmethod
    def from_config(cls, config: AnswerConfig) -> KnowledgeBaseRetriever:
        return cls(config.knowledge_base_id)

    @property
    def client(self) -> RetrieveClient:
        return self._runtime.get()

    def retrieve(self, query: str, k: int = 10) -> RetrievalResult:
        from botocore.exceptions import BotoCoreError, ClientError

        request = retrieve_request(self.knowledge_base_id, query, k)
        try:
            response = call_with_retries(
                lambda: self.client.retrieve(**request),
                self.retry,
                clock=self.clock,
                sleep=self.sleep,
                rand=self.jitter,
            )
        except RetriesExhausted as exc:
            raise self._failed(exc.last, attempts=exc.attempts) from exc.last
        except (ClientError, BotoCoreError) as exc:
            raise self._failed(exc) from exc
        return parse_retrieve(response, query, k)

    def _failed(self, exc: BaseException, *, attempts: int = 1) -> KnowledgeBaseError:
        return failure(self.knowledge_base_id, exc, attempts=attempts)


def failure(knowledge_base_id: str, exc: BaseException, *, attempts: int = 1) -> KnowledgeBaseError:
    """The package's error for a failed `Retrieve` (pure): the code, the service's message and what to check."""
    code = error_code(exc)
    where = f"knowledge base {knowledge_base_id!r}"
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if code == "AccessDeniedException":
        hint = "the caller needs bedrock:Retrieve on this knowledge base (and the knowledge base's role its data)"
    elif code == "ResourceNotFoundException":
        hint = "check HELPDESK_KNOWLEDGE_BASE_ID and the region (AWS_REGION)"
    elif code == "ValidationException":
        hint = "the request was refused as it was sent"
    else:
        hint = "the knowledge base or its vector store is unavailable or throttled"
    if code:
        return KnowledgeBaseError(f"retrieving from {where} failed{tried}: {code}: {error_message(exc)} ({hint})",
                                  code=code)  # fmt: skip
    return KnowledgeBaseError(f"retrieving from {where} failed{tried}: {type(exc).__name__}: {exc} ({hint})",
                              code=type(exc).__name__)  # fmt: skip
