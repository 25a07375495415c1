from pathlib import Path

import pytest
from support import HashEmbedder, page_object, write_export

from index_store.local import LocalIndexStore
from ingest.pipeline import CONTRACT_FIELDS, IngestOptions, run_ingest
from ingest.sources.export import ExportSource

VPN = "<h2>Install</h2><p>Install GlobalProtect.</p><h2>Troubleshooting</h2><ol><li>Restart the client.</li></ol>"


def pages(vpn_body: str = VPN) -> list[dict]:
    return [
        page_object("1", "VPN setup", vpn_body, ancestors=["IT"]),
        page_object("2", "Printer help", "<p>Printers are on every floor. Use PaperCut.</p>", ancestors=["IT"]),
        page_object("3", "Wi-Fi", "<p>Connect to CorpNet with your SSO login.</p>"),
        page_object("4", "Internal rota", "<p>On call: Alice.</p>", labels=["helpdesk-exclude"]),
    ]


def ingest(folder: Path, store: LocalIndexStore, emb: HashEmbedder, **kw):
    return run_ingest(ExportSource(folder), emb, store, IngestOptions(**kw))


def test_first_run_embeds_everything_and_excludes_labelled_pages(tmp_path: Path) -> None:
    emb, store = HashEmbedder(), LocalIndexStore(tmp_path / "idx")
    s = ingest(write_export(tmp_path / "e", pages()), store, emb)
    assert (s.pages_seen, s.pages_changed, s.pages_skipped, s.pages_deleted) == (4, 3, 1, 0)
    assert s.chunks_embedded == s.chunks_total == emb.texts_embedded > 0
    bundle = store.load()
    assert set(bundle.pages) == {"1", "2", "3"}
    assert all("Alice" not in c.body for c in bundle.chunks)
    assert list(s.to_json())[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)


def test_unchanged_rerun_embeds_nothing_and_keeps_the_version(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "e", pages())
    store = LocalIndexStore(tmp_path / "idx")
    first = ingest(folder, store, HashEmbedder())
    emb = HashEmbedder()
    again = ingest(folder, store, emb)
    assert emb.calls == 0 and again.chunks_embedded == 0
    assert again.chunks_reused == again.chunks_total == first.chunks_total
    assert again.index_version == first.index_version and not again.published


def test_edited_page_reembeds_only_its_new_chunks(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path / "idx")
    ingest(write_export(tmp_path / "e", pages()), store, HashEmbedder())
    edited = VPN.replace("Restart the client.", "Restart the client, then reboot the laptop.")
    emb = HashEmbedder()
    s = ingest(write_export(tmp_path / "e", pages(edited)), store, emb)
    assert s.pages_changed == 1
    assert s.chunks_embedded == emb.texts_embedded == 1  # only the Troubleshooting section changed
    assert s.chunks_reused == s.chunks_total - 1
    assert any("reboot the laptop" in c.body for c in store.load().chunks)


def test_removed_page_disappears(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path / "idx")
    ingest(write_export(tmp_path / "e", pages()), store, HashEmbedder())
    s = ingest(write_export(tmp_path / "e", pages()[1:]), store, HashEmbedder())
    assert s.pages_deleted == 1 and s.chunks_embedded == 0
    bundle = store.load()
    assert "1" not in bundle.pages and all(c.page_id != "1" for c in bundle.chunks)


def test_newly_excluded_page_is_removed(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path / "idx")
    ingest(write_export(tmp_path / "e", pages()), store, HashEmbedder())
    changed = pages()
    changed[1] = page_object("2", "Printer help", "<p>x</p>", version=2, labels=["helpdesk-exclude"])
    s = ingest(write_export(tmp_path / "e", changed), store, HashEmbedder())
    assert s.pages_deleted == 1 and "2" not in store.load().pages


def test_full_rebuild_reembeds_everything(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "e", pages())
    store = LocalIndexStore(tmp_path / "idx")
    first = ingest(folder, store, HashEmbedder())
    emb = HashEmbedder()
    s = ingest(folder, store, emb, full=True)
    assert s.chunks_embedded == first.chunks_total and s.published


def test_other_embedder_forces_a_rebuild(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "e", pages())
    store = LocalIndexStore(tmp_path / "idx")
    ingest(folder, store, HashEmbedder())
    s = ingest(folder, store, HashEmbedder(dimension=32, embedder_id="test/other"))
    assert s.chunks_embedded == s.chunks_total and any("rebuilding in full" in w for w in s.warnings)
    assert store.load().dimension == 32


def test_empty_body_and_broken_markup_are_counted_not_fatal(tmp_path: Path) -> None:
    objs = [
        *pages(),
        page_object("5", "Empty", ""),
        page_object("6", "Broken", "<p>Reset <b>the printer<p>then <ac:structured-macro ac:name='info'>try again"),
    ]
    store = LocalIndexStore(tmp_path / "idx")
    s = ingest(write_export(tmp_path / "e", objs), store, HashEmbedder())
    assert s.pages_empty == 1 and s.parse_warnings >= 1
    assert any("Reset" in c.body for c in store.load().chunks if c.page_id == "6")


def test_identical_chunks_are_embedded_once(tmp_path: Path) -> None:
    same = "<p>Call the IT desk on extension 1234 for anything urgent.</p>"
    objs = [page_object(str(i), "Same title", same) for i in range(1, 4)]
    emb = HashEmbedder()
    s = ingest(write_export(tmp_path / "e", objs), LocalIndexStore(tmp_path / "idx"), emb)
    assert s.chunks_total == 3 and s.chunks_embedded == emb.texts_embedded == 1


def test_corrupt_previous_index_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "e", pages())
    store = LocalIndexStore(tmp_path / "idx")
    first = ingest(folder, store, HashEmbedder())
    victim = tmp_path / "idx" / "versions" / first.index_version / "docstore.sqlite"
    victim.write_bytes(victim.read_bytes()[:-5])
    s = ingest(folder, store, HashEmbedder())
    assert s.published and s.chunks_embedded == s.chunks_total
    assert any("previous index unusable" in w for w in s.warnings)


@pytest.mark.parametrize("bad", ["missing", "empty"])
def test_unreadable_export_raises_source_error(tmp_path: Path, bad: str) -> None:
    from ingest.exceptions import SourceError

    folder = tmp_path / "x"
    if bad == "empty":
        folder.mkdir()
    with pytest.raises(SourceError):
        ingest(folder, LocalIndexStore(tmp_path / "idx"), HashEmbedder())


def test_what_is_embedded_is_exactly_what_the_content_hash_covers(tmp_path: Path) -> None:
    import hashlib

    odd = page_object("7", "Printer\nhelp  ", "<h2>Jams\n on floor 3</h2><p>Open tray 2.</p>", ancestors=["IT", ""])
    emb, store = HashEmbedder(), LocalIndexStore(tmp_path / "idx")
    seen: list[str] = []
    real = emb.embed_documents
    emb.embed_documents = lambda texts: (seen.extend(texts), real(texts))[1]  # type: ignore[method-assign]
    ingest(write_export(tmp_path / "e", [odd]), store, emb)
    (chunk,) = store.load().chunks
    assert seen == [chunk.embed_text] and chunk.header == "IT > Printer help — Jams on floor 3"
    assert hashlib.sha256(chunk.embed_text.encode()).hexdigest() == chunk.content_hash
