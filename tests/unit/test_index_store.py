import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from index_store.exceptions import EmbedderMismatch, IndexCorrupt, IndexNotFound
from index_store.format import (
    DOCSTORE_FILE,
    FAISS_FILE,
    LEXICAL_FILE,
    MANIFEST,
    Chunk,
    IndexBundle,
    StoredPage,
    build_faiss_index,
    check_embedder,
    new_version_id,
)
from index_store.lexical import LexicalIndex, tokenize
from index_store.local import LocalIndexStore


def make_bundle(n: int = 5, dim: int = 8, version: str | None = None) -> IndexBundle:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    chunks = [
        Chunk(f"c{i}", f"h{i}", f"p{i % 2}", i, f"Page {i % 2}", f"https://x/{i % 2}", ("Root",), "", f"text {i}")
        for i in range(n)
    ]
    pages = {f"p{j}": StoredPage(f"p{j}", f"Page {j}", f"https://x/{j}", 1, f"hash{j}") for j in range(2)}
    return IndexBundle(
        embedder_id="test/emb",
        dimension=dim,
        chunks=chunks,
        pages=pages,
        index=build_faiss_index(vecs, dim),
        lexical=LexicalIndex.build([c.body for c in chunks]),
        embeddings=vecs,
        version=version or new_version_id(),
    )


def test_round_trip_keeps_chunks_vectors_and_lexical(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path / "idx")
    bundle = make_bundle()
    version = store.publish(bundle)
    assert store.current_version() == version
    loaded = store.load(with_embeddings=True)
    assert loaded.chunks == bundle.chunks and loaded.pages == bundle.pages
    assert np.array_equal(loaded.embeddings, bundle.embeddings)
    assert loaded.index.ntotal == 5
    _, ids = loaded.index.search(bundle.embeddings[3:4], 1)
    assert ids[0][0] == 3
    assert loaded.lexical.search("text 3", 5)[0][0] == 3 and len(loaded.lexical.search("text", 5)) == 5


def test_reader_does_not_need_embeddings_file(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path)
    version = store.publish(make_bundle())
    (tmp_path / "versions" / version / "embeddings.npy").unlink()
    assert store.load().embeddings is None
    with pytest.raises(IndexCorrupt, match=r"embeddings\.npy is missing"):
        store.load(with_embeddings=True)


def test_missing_index_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="run `helpdesk ingest`"):
        LocalIndexStore(tmp_path / "none").load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFound):
        LocalIndexStore(tmp_path / "empty").load()


@pytest.mark.parametrize("victim", [FAISS_FILE, DOCSTORE_FILE, LEXICAL_FILE])
def test_flipped_byte_is_refused(tmp_path: Path, victim: str) -> None:
    store = LocalIndexStore(tmp_path)
    version = store.publish(make_bundle())
    path = tmp_path / "versions" / version / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="checksum"):
        store.load()


def test_truncated_file_and_bad_manifest_are_refused(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path)
    version = store.publish(make_bundle())
    folder = tmp_path / "versions" / version
    (folder / DOCSTORE_FILE).write_bytes((folder / DOCSTORE_FILE).read_bytes()[:10])
    with pytest.raises(IndexCorrupt):
        store.load()
    (folder / MANIFEST).write_text("{oops")
    with pytest.raises(IndexCorrupt, match="not valid JSON"):
        store.load()
    manifest = {"format": "helpdesk-index", "format_version": 99, "files": {}}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="format version 99"):
        store.load()


def test_half_written_version_is_never_read(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path)
    good = store.publish(make_bundle())
    # A crashed publish leaves a temporary folder behind; CURRENT still names the good version.
    crashed = tmp_path / "versions" / ".tmp-20990101T000000Z-dead-xyz"
    crashed.mkdir()
    (crashed / FAISS_FILE).write_bytes(b"partial")
    assert store.load().version == good
    # A pointer to a version that does not exist is refused clearly.
    (tmp_path / "CURRENT").write_text("20990101T000000Z-missing\n")
    with pytest.raises(IndexCorrupt, match="missing"):
        store.load()


def test_publish_keeps_last_versions_only(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path, keep=2)
    versions = [store.publish(make_bundle(version=f"2026010{i}T000000Z-0000000{i}")) for i in range(1, 5)]
    remaining = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert remaining == versions[-2:]
    assert store.load().version == versions[-1]


def test_embedder_mismatch_is_refused_with_both_names() -> None:
    manifest = {"embedder": {"id": "model2vec/a", "dimension": 256}}
    check_embedder(manifest, "model2vec/a", 256, "here")
    with pytest.raises(EmbedderMismatch, match=r"'model2vec/a'.*'bedrock/titan'"):
        check_embedder(manifest, "bedrock/titan", 1024, "here")


def test_no_pickle_in_the_format(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path)
    version = store.publish(make_bundle())
    for f in (tmp_path / "versions" / version).iterdir():
        assert b"\x80\x04\x95" not in f.read_bytes()[:64], f"{f.name} looks like a pickle"
    pattern = re.compile(r"import pickle|pickle\.loads?|allow_pickle=True|from_pickle|load_local")
    for path in (Path(__file__).parents[2] / "index_store").rglob("*.py"):
        assert not pattern.search(path.read_text()), path


def test_bm25_prefers_documents_with_rare_query_terms() -> None:
    lex = LexicalIndex.build(["reset your printer queue", "vpn vpn vpn setup guide", "printer paper and printer toner"])
    scores = lex.scores("printer toner")
    assert scores.argmax() == 2 and scores[1] == 0
    assert tokenize("Printers printing") == ["printer", "print"]
    assert lex.query_terms_known("payroll printer") == (1, 2)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.pop("embedder"),
        lambda m: m.update(embedder={"id": "x", "dimension": "abc"}),
        lambda m: m["files"].update({"faiss.index": "zzz"}),
        lambda m: m["files"]["docstore.sqlite"].pop("sha256"),
    ],
)
def test_manifest_of_the_wrong_shape_is_corrupt_and_ingest_rebuilds(tmp_path: Path, mutate) -> None:
    from support import HashEmbedder, page_object, write_export

    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    store = LocalIndexStore(tmp_path / "idx")
    version = store.publish(make_bundle())
    path = tmp_path / "idx" / "versions" / version / MANIFEST
    manifest = json.loads(path.read_text())
    mutate(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt):
        store.load()
    export = write_export(tmp_path / "e", [page_object("1", "VPN", "<p>Install GlobalProtect.</p>")])
    summary = run_ingest(ExportSource(export), HashEmbedder(dimension=8, embedder_id="test/emb"), store)
    assert summary.published and store.load().version == summary.index_version


def test_filesystem_errors_are_index_store_errors(tmp_path: Path) -> None:
    from index_store.exceptions import IndexStoreError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    store = LocalIndexStore(blocker / "index")
    with pytest.raises(IndexStoreError, match="cannot"):
        store.load()
    with pytest.raises(IndexStoreError, match="cannot write the index"):
        store.publish(make_bundle())


def test_a_format_1_index_is_refused_and_the_next_ingest_rebuilds_it(tmp_path: Path) -> None:
    from support import HashEmbedder, page_object, write_export

    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    store = LocalIndexStore(tmp_path / "idx")
    version = store.publish(make_bundle())
    path = tmp_path / "idx" / "versions" / version / MANIFEST
    path.write_text(json.dumps({**json.loads(path.read_text()), "format_version": 1}))
    with pytest.raises(IndexCorrupt, match=r"format version 1.*Re-run `helpdesk ingest`"):
        store.load()
    export = write_export(tmp_path / "e", [page_object("1", "VPN", "<p>Install GlobalProtect.</p>")])
    summary = run_ingest(ExportSource(export), HashEmbedder(dimension=8, embedder_id="test/emb"), store)
    assert summary.published and any("format version 1" in w for w in summary.warnings)
    assert [c.page_id for c in store.load().chunks] == ["1"]


def test_a_format_2_index_keeps_serving_until_the_next_ingest_writes_format_3(tmp_path: Path) -> None:
    """An index published by the release before (its BM25 index in FTS5 inside the docstore, no lexical file) is
    read as it is, with the same answers, and the next ingest replaces it with format 3."""
    import hashlib

    from support import HashEmbedder, page_object, write_export

    from index_store.docstore import write_docstore
    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    store = LocalIndexStore(tmp_path / "idx")
    bundle = make_bundle()
    version = store.publish(bundle)
    folder = tmp_path / "idx" / "versions" / version
    expected = store.load().lexical.search("text 3", 5)
    (folder / LEXICAL_FILE).unlink()
    (folder / DOCSTORE_FILE).unlink()
    write_docstore(folder / DOCSTORE_FILE, bundle.chunks, bundle.pages.values(), fts5=True)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["format_version"] = 2
    del manifest["files"][LEXICAL_FILE]
    data = (folder / DOCSTORE_FILE).read_bytes()
    manifest["files"][DOCSTORE_FILE] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (folder / MANIFEST).write_text(json.dumps(manifest))

    old = store.load()
    assert old.chunks == bundle.chunks and type(old.lexical).__name__ == "FtsLexical"
    assert old.lexical.search("text 3", 5)[0][0] == expected[0][0] == 3
    export = write_export(tmp_path / "e", [page_object("1", "VPN", "<p>Install GlobalProtect.</p>")])
    assert run_ingest(ExportSource(export), HashEmbedder(dimension=8, embedder_id="test/emb"), store).published
    new = store.load()
    assert type(new.lexical).__name__ == "TantivyLexical" and new.lexical.search("globalprotect", 5)[0][0] == 0
    assert json.loads((tmp_path / "idx" / "versions" / new.version / MANIFEST).read_text())["format_version"] == 3


def test_a_docstore_rewritten_after_its_check_is_hashed_again(tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path)
    version = store.publish(make_bundle())
    assert store.load().version == version
    path = tmp_path / "versions" / version / DOCSTORE_FILE
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.unlink()
    path.write_bytes(bytes(data))  # same size, new inode and mtime: the stamp no longer vouches for it
    with pytest.raises(IndexCorrupt, match=r"docstore\.sqlite fails its checksum"):
        store.load()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(35, dtype=np.float32).reshape(7, 5),
        np.zeros((0, 256), dtype=np.float32),
        np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
    ],
)
def test_embeddings_are_written_as_np_save_writes_them(array: np.ndarray) -> None:
    from index_store.format import npy_bytes

    expected = io.BytesIO()
    np.save(expected, np.ascontiguousarray(array), allow_pickle=False)
    assert bytes(npy_bytes(array)) == expected.getvalue()
    assert np.array_equal(np.load(io.BytesIO(npy_bytes(array)), allow_pickle=False), array)


def test_a_matrix_made_inside_its_npy_file_is_written_as_np_save_writes_it_without_a_copy() -> None:
    from index_store.format import npy_bytes, npy_matrix

    matrix = npy_matrix(4, 3)
    matrix[:] = np.arange(12, dtype=np.float32).reshape(4, 3)
    expected = io.BytesIO()
    np.save(expected, matrix, allow_pickle=False)
    data = npy_bytes(matrix)
    assert bytes(data) == expected.getvalue()
    matrix[0, 0] = 99.0  # the file's bytes are the matrix's own
    assert np.load(io.BytesIO(data), allow_pickle=False)[0, 0] == 99.0
    assert bytes(npy_bytes(matrix[1:])) != bytes(data)  # a slice is not the whole buffer: copied, as np.save has it
    rows = io.BytesIO()
    np.save(rows, matrix[1:], allow_pickle=False)
    assert bytes(npy_bytes(matrix[1:])) == rows.getvalue()
