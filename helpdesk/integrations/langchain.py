"""LangChain over a published index: `HelpdeskRetriever`, a `BaseRetriever` that runs the assistant's own hybrid
retrieval, and `load_vectorstore`, a langchain-community `FAISS` store built in memory from the index's vectors.

Needs the optional extra `langchain` (`pip install 'it-helpdesk-assistant[langchain]'`; `make install` has it).
Nothing in the Lambda code imports this module. `LOCATION` is what `helpdesk ask --index` takes: a folder or
`s3://bucket/prefix`, opened with the same settings (`HELPDESK_*`, `AWS_*`), and by default `HELPDESK_INDEX` or
`$HELPDESK_HOME/index`. The index must have been built with the configured embedder (`HELPDESK_EMBEDDER`), as for
`ask`; questions are embedded with it.

    retriever = HelpdeskRetriever(index="s3://acme-helpdesk-index/index", k=5)
    docs = retriever.invoke("how do I connect a guest to the wifi?")  # one Document per page, best first
    store = load_vectorstore(".helpdesk/index")
    store.similarity_search("reset mfa", k=3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from helpdesk.factory import build_embedder, build_index_store, build_retriever
from helpdesk.settings import Settings

if TYPE_CHECKING:
    from langchain_community.vectorstores import FAISS

    from assistant.retrieval import Retriever
    from ingest.embedders.base import Embedder

__all__ = ["HelpdeskRetriever", "IndexEmbeddings", "load_vectorstore"]


def _settings() -> Settings:
    """The environment's settings, retrieving from the index whatever HELPDESK_RETRIEVER says: this opens an index."""
    settings = Settings.from_env()
    return replace(settings, answering=replace(settings.answering, retriever="hybrid"))


class HelpdeskRetriever(BaseRetriever):
    """The assistant's hybrid retrieval (BM25 + dense, fused per page) as a LangChain retriever.

    Returns one `Document` per page hit, best first, at most `k`: `page_content` is the page's best chunk, `metadata`
    has `page_id`, `title`, `url`, `score` (the fused page score, 1.0 at best) and the chunk's `chunk_id` and
    `heading`. The index is opened when the retriever is made (a missing or corrupt one raises then) and, like a warm
    Lambda, picks up newly published versions (HELPDESK_INDEX_REFRESH_SECONDS)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: str | None = None
    k: int = Field(default=5, ge=1, le=100)
    _retriever: Retriever = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        retriever, _ = build_retriever(_settings(), self.index)
        self._retriever = retriever

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self._retriever.retrieve(query, k=self.k)
        documents = []
        for page in result.pages[: self.k]:
            if not page.chunks:
                continue
            best = page.chunks[0].chunk
            metadata = {
                "page_id": page.page_id,
                "title": page.title,
                "url": page.url,
                "score": round(page.score, 4),
                "chunk_id": best.chunk_id,
                "heading": best.heading,
            }
            documents.append(Document(page_content=best.body, metadata=metadata, id=best.chunk_id))
        return documents


class IndexEmbeddings(Embeddings):
    """LangChain `Embeddings` over the index's own embedder, so queries land in the index's vector space."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @property
    def embedder_id(self) -> str:
        return self.embedder.embedder_id

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return [[float(x) for x in row] for row in self.embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed_query(text)]


def load_vectorstore(location: str | None = None) -> FAISS:
    """A langchain-community `FAISS` store in memory: the index's vectors (inner product over L2-normalised
    vectors, so scores are cosine similarities) and one `Document` per chunk (its text; `page_id`, `title`, `url`,
    `chunk_id`, `heading`, `breadcrumb` in the metadata). Built from the checksummed index files, never from a
    pickle; queries are embedded with the index's embedder (`IndexEmbeddings`)."""
    import numpy as np
    from langchain_community.docstore.in_memory import InMemoryDocstore
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

    from index_store.format import check_embedder

    settings = _settings()
    store = build_index_store(settings, location)
    bundle = store.load(with_embeddings=True)
    embedder = build_embedder(settings, for_queries=True)
    manifest = {"embedder": {"id": bundle.embedder_id, "dimension": bundle.dimension}}
    check_embedder(manifest, embedder.embedder_id, embedder.dimension, store.location)
    vectors = bundle.embeddings
    if vectors is None:  # an index stored without its embedding cache: the vectors FAISS holds
        vectors = bundle.index.reconstruct_n(0, len(bundle.chunks)) if bundle.chunks else None
    vectors = np.ascontiguousarray(
        np.zeros((0, bundle.dimension)) if vectors is None else vectors, dtype=np.float32
    ).reshape(-1, bundle.dimension)
    import faiss

    index = faiss.IndexFlatIP(bundle.dimension)
    if len(vectors):
        index.add(vectors)
    docs = _chunk_documents(bundle.chunks)
    return FAISS(
        IndexEmbeddings(embedder),
        index,
        InMemoryDocstore({d.id: d for d in docs}),
        {i: d.id for i, d in enumerate(docs)},
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )


def _chunk_documents(chunks: Sequence[Any]) -> list[Document]:
    return [
        Document(
            page_content=c.body,
            id=c.chunk_id,
            metadata={
                "page_id": c.page_id,
                "title": c.title,
                "url": c.url,
                "chunk_id": c.chunk_id,
                "heading": c.heading,
                "breadcrumb": " > ".join(c.breadcrumb),
            },
        )
        for c in chunks
    ]
