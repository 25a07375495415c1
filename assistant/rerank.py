"""Optional reranking of the fused pages with the Bedrock `Rerank` API (bedrock-agent-runtime).

Enabled by HELPDESK_RERANK_MODEL_ARN (Amazon Rerank or Cohere Rerank, e.g.
`arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0`). Only the order of the top pages changes; the
confidence gate still reads the retrieval signals. A transient failure is retried once (`core.retry`); any failure
left keeps the fused order (a warning is logged): a reranker outage never stops answers. The request is built and
the reply parsed by pure functions; the endpoint comes from botocore (`AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from assistant.exceptions import RerankError
from assistant.retrieval import PageHit, RetrievalResult, Retriever
from core.aws import LazyClient, error_code, error_message
from core.retry import RetriesExhausted, RetryPolicy, call_with_retries

if TYPE_CHECKING:
    from assistant.config import AnswerConfig

log = logging.getLogger(__name__)
MAX_DOCUMENT_CHARS = 2000  # about 500 tokens: within every Bedrock rerank model's document limit


class RerankClient(Protocol):
    def rerank(self, **kwargs: Any) -> Mapping[str, Any]: ...


def rerank_request(model_arn: str, query: str, documents: Sequence[str], top_n: int) -> dict[str, Any]:
    """The keyword arguments of `bedrock-agent-runtime.rerank` (pure)."""
    return {
        "queries": [{"type": "TEXT", "textQuery": {"text": query}}],
        "sources": [
            {"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": doc}}}
            for doc in documents
        ],
        "rerankingConfiguration": {
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": {
                "numberOfResults": max(1, min(top_n, len(documents))),
                "modelConfiguration": {"modelArn": model_arn},
            },
        },
    }


def parse_rerank(response: Mapping[str, Any], count: int) -> list[tuple[int, float]]:
    """(document index, relevance score), best first; malformed or out-of-range entries are dropped (pure)."""
    results = response.get("results") if isinstance(response, Mapping) else None
    if not isinstance(results, list):
        raise RerankError("rerank reply has no results list")
    out: list[tuple[int, float]] = []
    seen: set[int] = set()
    for item in results:
        if not isinstance(item, Mapping):
            continue
        index, score = item.get("index"), item.get("relevanceScore")
        if isinstance(index, int) and 0 <= index < count and index not in seen and isinstance(score, int | float):
            seen.add(index)
            out.append((index, float(score)))
    return sorted(out, key=lambda x: -x[1])


def page_document(page: PageHit, chunks: int = 2) -> str:
    text = "\n".join([page.title, *(h.chunk.body for h in page.chunks[:chunks])])
    return text[:MAX_DOCUMENT_CHARS]


class BedrockReranker:
    """Bedrock `Rerank`: two attempts at most (a retry waits up to 1 s), then `RerankError`."""

    def __init__(
        self,
        model_arn: str,
        *,
        client: RerankClient | None = None,
        max_attempts: int = 2,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.model_arn = model_arn
        self._runtime = LazyClient.single_attempt("bedrock-agent-runtime", client, connect_timeout=3, read_timeout=10)
        self.retry = RetryPolicy(max_attempts=max_attempts, base_s=backoff_base_s, cap_s=backoff_cap_s)
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter

    @classmethod
    def from_config(cls, config: AnswerConfig) -> BedrockReranker:
        return cls(config.rerank_model_arn)

    @property
    def client(self) -> RerankClient:
        return self._runtime.get()

    def rerank(self, query: str, documents: Sequence[str], top_n: int) -> list[tuple[int, float]]:
        from botocore.exceptions import BotoCoreError, ClientError

        if not documents:
            return []
        request = rerank_request(self.model_arn, query, documents, top_n)
        try:
            response = call_with_retries(
                lambda: self.client.rerank(**request),
                self.retry,
                clock=self.clock,
                sleep=self.sleep,
                rand=self.jitter,
            )
        except RetriesExhausted as exc:
            raise self._failed(exc.last) from exc.last
        except (ClientError, BotoCoreError) as exc:
            raise self._failed(exc) from exc
        return parse_rerank(response, len(documents))

    def _failed(self, exc: BaseException) -> RerankError:
        if isinstance(getattr(exc, "response", None), dict):
            return RerankError(
                f"Bedrock rerank with {self.model_arn!r} failed: {error_code(exc)}: {error_message(exc)} "
                "(the IAM actions are bedrock:Rerank and bedrock:InvokeModel on the model)"
            )
        return RerankError(f"Bedrock rerank with {self.model_arn!r} failed: {exc}")


class Reranker(Protocol):
    def rerank(self, query: str, documents: Sequence[str], top_n: int) -> list[tuple[int, float]]: ...


class RerankingRetriever:
    """A `Retriever` that reorders the base retriever's top `depth` pages with a reranker."""

    def __init__(self, base: Retriever, reranker: Reranker, *, depth: int = 10) -> None:
        self.base = base
        self.reranker = reranker
        self.depth = depth

    def retrieve(self, query: str, k: int = 10) -> RetrievalResult:
        result = self.base.retrieve(query, k=max(k, self.depth))
        head, tail = result.pages[: self.depth], result.pages[self.depth :]
        try:
            order = self.reranker.rerank(query, [page_document(p) for p in head], len(head))
        except RerankError as exc:
            log.warning("rerank failed; keeping the fused order", extra={"error": str(exc)})
            result.pages = result.pages[:k]
            return result
        ranked = [head[i] for i, _ in order]
        ranked += [p for i, p in enumerate(head) if i not in {j for j, _ in order}]
        result.pages = (ranked + tail)[:k]
        return result
