"""A warm process (Lambda, `helpdesk serve`) picks up newly published index versions, and survives bad ones."""

from pathlib import Path

import pytest
from fakes.clock import FakeClock
from support import HashEmbedder, page_object, write_export

from assistant.retrieval import RefreshingRetriever
from index_store.exceptions import EmbedderMismatch
from index_store.local import LocalIndexStore
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

PRINTER = page_object("1", "Printer help", "<p>Release print jobs with PaperCut at any printer.</p>")
VPN = page_object("2", "VPN setup", "<p>Install GlobalProtect and connect to the vpn portal.</p>")


def publish(tmp_path: Path, store: LocalIndexStore, emb: HashEmbedder, pages: list[dict]) -> str:
    return run_ingest(ExportSource(write_export(tmp_path / "export", pages)), emb, store).index_version


def test_new_version_is_served_after_the_refresh_interval(tmp_path: Path) -> None:
    emb, store, clock = HashEmbedder(), LocalIndexStore(tmp_path / "idx"), FakeClock(0.0)
    first = publish(tmp_path, store, emb, [PRINTER])
    retriever = RefreshingRetriever(store, emb, refresh_seconds=60, clock=clock)
    assert [p.page_id for p in retriever.retrieve("vpn portal").pages] == ["1"]
    second = publish(tmp_path, store, emb, [PRINTER, VPN])
    clock.now = 30
    assert retriever.retrieve("vpn portal").pages[0].page_id == "1"  # not re-checked yet
    assert retriever.bundle.version == first
    clock.now = 61
    assert retriever.retrieve("vpn portal").pages[0].page_id == "2"
    assert retriever.bundle.version == second


def test_corrupt_new_version_is_refused_and_the_old_one_keeps_serving(tmp_path: Path, caplog) -> None:
    emb, store, clock = HashEmbedder(), LocalIndexStore(tmp_path / "idx"), FakeClock(0.0)
    first = publish(tmp_path, store, emb, [PRINTER])
    retriever = RefreshingRetriever(store, emb, refresh_seconds=1, clock=clock)
    second = publish(tmp_path, store, emb, [PRINTER, VPN])
    (tmp_path / "idx" / "versions" / second / "docstore.sqlite").write_text("{}")
    clock.now = 5
    assert retriever.retrieve("printer").pages[0].page_id == "1"
    assert retriever.bundle.version == first
    assert "still serving the loaded version" in caplog.text


def test_index_from_another_embedder_is_refused(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path / "idx")
    publish(tmp_path, store, HashEmbedder(embedder_id="test/other"), [PRINTER])
    with pytest.raises(EmbedderMismatch):
        RefreshingRetriever(store, HashEmbedder())
