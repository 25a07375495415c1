"""A re-ingest carries the earlier index over row for row: each chunk keeps its own vector, whichever pages were
edited, added or deleted, whether the earlier index is a published folder or held in memory."""

from pathlib import Path

import numpy as np
from support import HashEmbedder, page_object, write_export

from index_store.exceptions import IndexNotFound
from index_store.format import IndexBundle
from index_store.local import LocalIndexStore
from ingest.pipeline import IngestOptions, IngestSummary, run_ingest
from ingest.sources.export import ExportSource


def body(topic: str, sections: int = 3) -> str:
    words = " ".join(f"{topic}-word{i}" for i in range(60))
    return "".join(f"<h2>{topic} part {n}</h2><p>{words} section {n}.</p>" for n in range(sections))


def objects(edited: str = "", dropped: str = "", added: str = "") -> list[dict]:
    ids = ["1", "2", "10", "3", "25", "4"]
    out = []
    for pid in ids:
        if pid == dropped:
            continue
        text = body(f"edited{pid}" if pid == edited else f"topic{pid}")
        out.append(page_object(pid, f"Page {pid}", text, version=2 if pid == edited else 1, ancestors=["IT"]))
    if added:
        out.append(page_object(added, f"Page {added}", body(f"new{added}", 2), ancestors=["IT"]))
    return out


class MemoryStore:
    """An index store that keeps the published bundle as it was built: chunks a list, embeddings an array."""

    location = "memory"

    def __init__(self) -> None:
        self.bundle: IndexBundle | None = None
        self.publishes = 0

    def current_version(self) -> str | None:
        return self.bundle.version if self.bundle else None

    def load(self, *, with_embeddings: bool = False) -> IndexBundle:
        if self.bundle is None:
            raise IndexNotFound("nothing published")
        return self.bundle

    def publish(self, bundle: IndexBundle) -> str:
        self.bundle, self.publishes = bundle, self.publishes + 1
        return bundle.version


def ingest(folder: Path, store: LocalIndexStore | MemoryStore, emb: HashEmbedder) -> IngestSummary:
    return run_ingest(ExportSource(folder), emb, store, IngestOptions(index_type="flat"))


def assert_each_vector_is_its_chunks(bundle: IndexBundle, emb: HashEmbedder) -> None:
    assert bundle.embeddings is not None
    chunks = list(bundle.chunks)
    assert len(chunks) == len(bundle.embeddings) == bundle.index.ntotal
    assert [(c.page_id, c.ordinal) for c in chunks] == sorted((c.page_id, c.ordinal) for c in chunks)
    expected = np.stack([emb._vec(c.embed_text) for c in chunks])
    np.testing.assert_allclose(np.asarray(bundle.embeddings), expected, atol=1e-6)


def test_a_reingest_with_an_edit_an_addition_and_a_deletion_keeps_each_vector_with_its_chunk(tmp_path: Path) -> None:
    emb, store = HashEmbedder(), LocalIndexStore(tmp_path / "idx")
    ingest(write_export(tmp_path / "e", objects()), store, emb)
    before = {c.chunk_id: c for c in store.load().chunks}

    s = ingest(write_export(tmp_path / "e", objects(edited="10", dropped="3", added="7")), store, HashEmbedder())

    assert s.published and (s.pages_changed, s.pages_deleted) == (2, 1)
    bundle = store.load(with_embeddings=True)
    assert_each_vector_is_its_chunks(bundle, emb)
    assert s.chunks_total == len(bundle.chunks) and s.chunks_reused == s.chunks_total - s.chunks_embedded
    kept = [c for c in bundle.chunks if c.page_id in {"1", "2", "25", "4"}]
    assert kept and all(before[c.chunk_id] == c for c in kept)
    assert {c.page_id for c in bundle.chunks} == {"1", "2", "10", "25", "4", "7"}
    assert any("edited10-word1" in c.body for c in bundle.chunks if c.page_id == "10")


def test_a_text_two_pages_share_is_embedded_once_and_stored_for_both(tmp_path: Path) -> None:
    same = "<p>Call the IT desk on extension 1234 for anything urgent, day or night.</p>"
    store = LocalIndexStore(tmp_path / "idx")
    ingest(write_export(tmp_path / "e", objects()), store, HashEmbedder())
    twins = [*objects(), page_object("8", "Urgent", same), page_object("9", "Urgent", same)]
    emb = HashEmbedder()
    s = ingest(write_export(tmp_path / "e", twins), store, emb)
    assert (s.chunks_embedded, emb.texts_embedded) == (1, 1)
    assert_each_vector_is_its_chunks(store.load(with_embeddings=True), emb)


def test_a_previous_index_held_in_memory_is_reused_row_for_row(tmp_path: Path) -> None:
    store, emb = MemoryStore(), HashEmbedder()
    first = ingest(write_export(tmp_path / "e", objects()), store, emb)
    assert isinstance(store.load().chunks, list)

    again = ingest(write_export(tmp_path / "e", objects()), store, HashEmbedder())
    assert not again.published and again.index_version == first.index_version and store.publishes == 1
    assert again.chunks_reused == again.chunks_total == first.chunks_total

    edited = HashEmbedder()
    s = ingest(write_export(tmp_path / "e", objects(edited="2", dropped="25")), store, edited)
    assert s.published and store.publishes == 2 and s.chunks_embedded == edited.texts_embedded == 3
    assert s.chunks_reused == s.chunks_total - 3
    assert store.bundle is not None
    assert_each_vector_is_its_chunks(store.bundle, emb)
    assert "25" not in store.bundle.pages and all(c.page_id != "25" for c in store.bundle.chunks)


def test_a_deletion_alone_publishes_the_rest_unchanged(tmp_path: Path) -> None:
    emb, store = HashEmbedder(), LocalIndexStore(tmp_path / "idx")
    first = ingest(write_export(tmp_path / "e", objects()), store, emb)
    before = [c for c in store.load().chunks if c.page_id != "4"]
    again = HashEmbedder()
    s = ingest(write_export(tmp_path / "e", objects(dropped="4")), store, again)
    assert s.published and s.index_version != first.index_version and again.calls == 0
    bundle = store.load(with_embeddings=True)
    assert list(bundle.chunks) == before
    assert_each_vector_is_its_chunks(bundle, emb)
