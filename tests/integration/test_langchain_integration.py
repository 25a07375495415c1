"""The published index through the real LangChain classes: `HelpdeskRetriever` (a `BaseRetriever`) and
`load_vectorstore` (a langchain-community `FAISS`), over the sample space ingested into a folder and into S3 on moto."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from fakes.moto_server import MotoServer
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from pydantic import ValidationError
from support import SAMPLE_EXPORT

with warnings.catch_warnings():  # langchain-community announces its sunset on import (docs/decisions/0012)
    warnings.filterwarnings("ignore", ".*langchain-community.*", DeprecationWarning)
    from langchain_community.vectorstores import FAISS

from helpdesk.factory import build_assistant
from helpdesk.integrations.langchain import HelpdeskRetriever, IndexEmbeddings, load_vectorstore
from helpdesk.settings import Settings
from index_store.exceptions import EmbedderMismatch, IndexNotFound
from index_store.local import LocalIndexStore
from index_store.s3 import S3IndexStore
from ingest.embedders.local import StaticEmbedder
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

pytestmark = pytest.mark.filterwarnings("ignore:.*langchain-community.*:DeprecationWarning")
GUEST_WIFI = "how do I connect a guest to the wifi?"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/it-space ingested with the local embedder into a folder."""
    location = tmp_path_factory.mktemp("langchain") / "index"
    run_ingest(ExportSource(SAMPLE_EXPORT), StaticEmbedder(), LocalIndexStore(location))
    return location


def test_the_retriever_returns_one_document_per_page_as_ask_retrieves_them(index: Path) -> None:
    retriever = HelpdeskRetriever(index=str(index), k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(GUEST_WIFI)
    assert 1 <= len(docs) <= 3 and all(isinstance(d, Document) for d in docs)
    assert all(set(d.metadata) >= {"page_id", "title", "url", "score"} for d in docs)
    assert len({d.metadata["page_id"] for d in docs}) == len(docs)
    assert docs[0].metadata["title"] == "Guest Wi-Fi access"
    assert docs[0].metadata["url"].endswith("/pages/100104/Guest+Wi-Fi+access")
    assert [d.metadata["score"] for d in docs] == sorted((d.metadata["score"] for d in docs), reverse=True)
    # the same pages, in the same order, as `helpdesk ask --index` retrieves
    pages = build_assistant(Settings.from_env(), str(index), with_tickets=False).retrieve(GUEST_WIFI, k=3).pages
    assert [d.metadata["page_id"] for d in docs] == [p.page_id for p in pages]
    assert [d.page_content for d in docs] == [p.chunks[0].chunk.body for p in pages]


def test_the_retriever_composes_in_a_chain_and_its_settings_are_checked(index: Path) -> None:
    chain = HelpdeskRetriever(index=str(index), k=2) | RunnableLambda(lambda docs: [d.metadata["url"] for d in docs])
    urls = chain.invoke("my vpn keeps dropping")
    assert len(urls) == 2 and all(u.startswith("https://") for u in urls)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        HelpdeskRetriever(index=str(index), k=0)


def test_a_location_without_an_index_fails_when_the_retriever_is_made(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound) as err:
        HelpdeskRetriever(index=str(tmp_path / "nothing"))
    assert str(err.value) == f"no index at {tmp_path / 'nothing'}: run `helpdesk ingest` first"
    with pytest.raises(IndexNotFound):
        load_vectorstore(str(tmp_path / "nothing"))


def test_the_vector_store_holds_every_chunk_and_searches_with_the_index_s_embedder(index: Path) -> None:
    bundle = LocalIndexStore(index).load(with_embeddings=True)
    store = load_vectorstore(str(index))
    assert isinstance(store, FAISS) and isinstance(store.embeddings, IndexEmbeddings)
    assert store.index.ntotal == len(bundle.chunks)
    first = bundle.chunks[0]
    doc = store.docstore.search(first.chunk_id)
    assert doc.page_content == first.body and doc.metadata["page_id"] == first.page_id
    np.testing.assert_allclose(store.index.reconstruct(0), bundle.embeddings[0], rtol=1e-6)
    query = StaticEmbedder().embed_query(GUEST_WIFI)
    assert store.embeddings.embed_query(GUEST_WIFI) == pytest.approx([float(x) for x in query])
    [(hit, score)] = store.similarity_search_with_score(GUEST_WIFI, k=1)
    best = int(np.argmax(bundle.embeddings @ query))  # exact cosine over the stored vectors
    assert hit.metadata["chunk_id"] == bundle.chunks[best].chunk_id
    assert score == pytest.approx(float(bundle.embeddings[best] @ query), abs=1e-5)
    assert store.as_retriever(search_kwargs={"k": 2}).invoke("reset my password")[0].metadata["url"].startswith("https")


def test_an_index_built_by_another_embedder_is_refused(tmp_path: Path, hash_embedder) -> None:
    location = tmp_path / "other"
    run_ingest(ExportSource(SAMPLE_EXPORT), hash_embedder, LocalIndexStore(location))
    with pytest.raises(EmbedderMismatch, match="test/hash"):
        load_vectorstore(str(location))
    with pytest.raises(EmbedderMismatch, match="test/hash"):
        HelpdeskRetriever(index=str(location))


@pytest.fixture
def s3_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The sample space published to S3 on moto's server, reached through botocore's endpoint setting."""
    server = MotoServer().start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
        monkeypatch.setenv("HELPDESK_INDEX_CACHE_DIR", str(tmp_path / "cache"))
        boto3.client("s3").create_bucket(Bucket="helpdesk-index")
        location = "s3://helpdesk-index/prod/index"
        run_ingest(ExportSource(SAMPLE_EXPORT), StaticEmbedder(), S3IndexStore(location, cache_dir=tmp_path / "w"))
        yield location
    finally:
        server.stop()


def test_both_open_an_index_on_s3(s3_index: str, tmp_path: Path) -> None:
    docs = HelpdeskRetriever(index=s3_index, k=3).invoke(GUEST_WIFI)
    assert docs[0].metadata["title"] == "Guest Wi-Fi access"
    store = load_vectorstore(s3_index)
    chunks = S3IndexStore(s3_index, cache_dir=tmp_path / "r").load().chunks
    assert store.index.ntotal == len(chunks) > 0
    assert store.similarity_search(GUEST_WIFI, k=1)[0].metadata["page_id"] in {d.metadata["page_id"] for d in docs}
