"""Faults and hostile input on the export ingest and the local index: nothing is lost, every cause is named."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest
from fakes.clock import FakeClock
from support import HashEmbedder, page_object, write_export

from assistant.retrieval import RefreshingRetriever
from core.errors import HelpdeskError
from index_store.exceptions import IndexCorrupt
from index_store.local import LocalIndexStore
from ingest.pipeline import IngestOptions, run_ingest
from ingest.sources.export import ExportSource

PAGES = [page_object(str(i), f"Guide {i}", f"<p>Step {i}: open the tool and press start {i}.</p>") for i in range(4)]


def ingest(folder: Path, store: LocalIndexStore, **options):
    return run_ingest(ExportSource(folder), HashEmbedder(), store, IngestOptions(index_type="flat", **options))


def published(tmp_path: Path) -> tuple[Path, LocalIndexStore, str]:
    folder = write_export(tmp_path / "export", PAGES)  # page-0000.json holds 0 and 1, page-0002.json 2 and 3
    store = LocalIndexStore(tmp_path / "idx")
    return folder, store, ingest(folder, store).index_version


def truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def test_truncated_export_file_fails_the_run_naming_it_and_keeps_the_index(tmp_path: Path) -> None:
    folder, store, first = published(tmp_path)
    truncate(folder / "page-0002.json")
    with pytest.raises(HelpdeskError, match=r"page-0002\.json") as err:
        ingest(folder, store)
    assert err.value.exit_code == 2 and "--allow-partial" in str(err.value)
    assert store.current_version() == first
    assert set(store.load().pages) == {"0", "1", "2", "3"}


def test_allow_partial_keeps_the_pages_of_an_unreadable_file(tmp_path: Path) -> None:
    folder, store, _ = published(tmp_path)
    truncate(folder / "page-0002.json")
    edited = page_object("0", "Guide 0", "<p>Step 0: the tool moved to the portal.</p>", version=2)
    doc = json.loads((folder / "page-0000.json").read_text())
    doc["results"][0] = edited
    (folder / "page-0000.json").write_text(json.dumps(doc))
    summary = ingest(folder, store, allow_partial=True)
    assert summary.published and summary.pages_deleted == 0
    bundle = store.load()
    assert set(bundle.pages) == {"0", "1", "2", "3"}
    assert bundle.pages["0"].version == 2
    assert any("page-0002.json" in w for w in summary.warnings)


def test_allow_partial_on_a_full_rebuild_keeps_the_pages_of_an_unreadable_file(tmp_path: Path) -> None:
    folder, store, _ = published(tmp_path)
    truncate(folder / "page-0000.json")
    summary = ingest(folder, store, allow_partial=True, full=True)
    assert summary.pages_deleted == 0
    assert set(store.load().pages) == {"0", "1", "2", "3"}


def test_an_export_without_bodies_never_replaces_an_index_with_chunks(tmp_path: Path) -> None:
    folder, store, first = published(tmp_path)
    bare = []
    for obj in PAGES:
        obj = {k: v for k, v in obj.items() if k != "body"}
        obj["version"] = {"number": 2, "when": "2026-02-01T00:00:00.000Z"}
        bare.append(obj)
    write_export(folder, bare)
    with pytest.raises(HelpdeskError, match=r"body\.storage") as err:
        ingest(folder, store)
    assert err.value.exit_code == 2 and "4 pages" in str(err.value)
    assert store.current_version() == first and len(store.load().chunks) == 4


def test_pages_without_a_body_are_reported(tmp_path: Path) -> None:
    objs = [PAGES[0], {k: v for k, v in PAGES[1].items() if k != "body"}]
    source = ExportSource(write_export(tmp_path / "e", objs))
    assert {p.page_id for p in source.pages()} == {"0", "1"}
    assert source.report.bodiless == 1
    assert source.report.warnings[0].startswith("1 of 2 pages have no body.storage")
    assert any("page 1" in w and "body.storage" in w for w in source.report.warnings)


@pytest.mark.parametrize("junk", [b"\xff\xfe\x00junk", b"2026\x00x", b"../../etc", b".tmp-x"])
def test_a_junk_pointer_is_a_corrupt_index_and_a_running_reader_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, junk: bytes
) -> None:
    _, store, first = published(tmp_path)
    clock = FakeClock(0.0)
    retriever = RefreshingRetriever(store, HashEmbedder(), refresh_seconds=1, clock=clock)
    (tmp_path / "idx" / "CURRENT").write_bytes(junk)
    with pytest.raises(IndexCorrupt, match="CURRENT"):
        LocalIndexStore(tmp_path / "idx").load()
    clock.now = 5
    with caplog.at_level(logging.WARNING, logger="assistant.retrieval"):
        assert retriever.retrieve("open the tool").pages
    assert retriever.bundle.version == first
    assert any(r.levelno == logging.WARNING and "still serving" in r.getMessage() for r in caplog.records)


def test_stale_tmp_folders_left_by_a_killed_publish_are_pruned(tmp_path: Path) -> None:
    folder, store, _ = published(tmp_path)
    versions = tmp_path / "idx" / "versions"
    stale = versions / ".tmp-20260101T000000Z-dead-x1"
    stale.mkdir()
    (stale / "faiss.index").write_bytes(b"half")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    fresh = versions / ".tmp-20260101T000000Z-live-x2"  # another publish may be writing it right now
    fresh.mkdir()
    write_export(folder, [*PAGES, page_object("9", "New", "<p>A new page about badges.</p>")])
    ingest(folder, store)
    assert not stale.exists()
    assert fresh.exists()


@pytest.mark.parametrize("number", ["1e400", "-1e400", "3.5", "-4", "true", '"seven"', "99999999999999999999999"])
def test_an_absurd_version_number_names_the_page_and_the_rest_ingests(tmp_path: Path, number: str) -> None:
    folder = write_export(tmp_path / "export", PAGES)
    text = (folder / "page-0002.json").read_text().replace('"number": 1', f'"number": {number}', 1)
    (folder / "page-0002.json").write_text(text)
    source = ExportSource(folder)
    summary = run_ingest(source, HashEmbedder(), LocalIndexStore(tmp_path / "idx"))
    assert summary.pages_seen == 4 and summary.published
    assert any("page 2" in w and "page-0002.json" in w and "version" in w for w in summary.warnings)


def test_an_export_of_only_invalid_json_names_the_cause(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("b.json", "a.json", "c.json"):
        (folder / name).write_text("{oops")
    with pytest.raises(HelpdeskError, match=r"3 files .*a\.json"):
        ingest(folder, LocalIndexStore(tmp_path / "idx"))
    with pytest.raises(HelpdeskError, match=r"no pages to index.*3 files could not be read.*a\.json"):
        ingest(folder, LocalIndexStore(tmp_path / "idx"), allow_partial=True)


def test_an_export_of_only_non_page_objects_names_the_cause(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "blog.json").write_text(json.dumps({"id": "9", "type": "blogpost", "title": "News"}))
    with pytest.raises(HelpdeskError, match=r"no pages to index.*1 object.*not a Confluence page"):
        ingest(folder, LocalIndexStore(tmp_path / "idx"))


def test_a_json_symlink_leading_outside_the_export_is_not_followed(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", PAGES[:2])
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "hr.json").write_text(json.dumps(page_object("77", "Salaries", "<p>Private numbers.</p>")))
    (folder / "hr.json").symlink_to(outside / "hr.json")
    (folder / "sub").mkdir()
    (folder / "sub" / "copy.json").symlink_to(folder / "page-0000.json")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    source = ExportSource(folder)
    assert source.page_ids() == {"0", "1"}
    assert any("hr.json" in w and "outside" in w for w in source.report.warnings)


def rewrite_with_checksum(folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _edited_docstore(folder: Path, *statements: str) -> bytes:
    copy = folder / "edited.sqlite"
    copy.write_bytes((folder / "docstore.sqlite").read_bytes())
    conn = sqlite3.connect(copy)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    data = copy.read_bytes()
    copy.unlink()
    return data


def _empty_sqlite(folder: Path) -> bytes:
    path = folder / "empty.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    data = path.read_bytes()
    path.unlink()
    return data


def _docstore_junk(folder: Path) -> list[tuple[str, bytes]]:
    """Docstore files that pass their checksum (rewritten with the manifest) but are not a usable docstore."""
    good = (folder / "docstore.sqlite").read_bytes()
    return [
        ("docstore.sqlite", b"SQLite format 3\x00" + b"\x00" * 200),
        ("docstore.sqlite", _empty_sqlite(folder)),
        ("docstore.sqlite", _edited_docstore(folder, "DELETE FROM chunks WHERE row = (SELECT max(row) FROM chunks)")),
        ("docstore.sqlite", _edited_docstore(folder, "UPDATE meta SET value = 'other' WHERE key = 'schema'")),
        ("docstore.sqlite", _edited_docstore(folder, "DROP TABLE pages")),
        ("docstore.sqlite", good[: len(good) // 2]),
    ]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _lexical_junk(folder: Path) -> list[tuple[str, bytes]]:
    """Lexical files that pass their checksum but are not the lexical index of this version."""
    good = (folder / "lexical.tantivy").read_bytes()
    with zipfile.ZipFile(folder / "lexical.tantivy") as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    segment = next(n for n in members if n.endswith(".idx"))
    return [
        ("lexical.tantivy", b"PK\x03\x04" + b"\x00" * 100),
        ("lexical.tantivy", good[: len(good) // 2]),
        ("lexical.tantivy", _zip({"meta.json": b"{}"})),
        ("lexical.tantivy", _zip({"../meta.json": members["meta.json"]})),
        ("lexical.tantivy", _zip({k: v for k, v in members.items() if k != segment})),
        ("lexical.tantivy", _zip({**members, segment: members[segment][:10]})),
    ]


def _broken_files(folder: Path) -> list[tuple[str, bytes]]:
    return _docstore_junk(folder) + _lexical_junk(folder)


@pytest.mark.parametrize("case", range(12))
def test_a_checksum_valid_but_broken_docstore_or_lexical_file_is_corrupt(
    tmp_path: Path, case: int, caplog: pytest.LogCaptureFixture
) -> None:
    folder, store, first = published(tmp_path)
    clock = FakeClock(0.0)
    retriever = RefreshingRetriever(store, HashEmbedder(), refresh_seconds=1, clock=clock)
    write_export(folder, [*PAGES, page_object("9", "Badges", "<p>Badge office hours.</p>")])
    second = ingest(folder, store).index_version
    name, data = _broken_files(tmp_path / "idx" / "versions" / second)[case]
    rewrite_with_checksum(tmp_path / "idx" / "versions" / second, name, data)
    with pytest.raises(IndexCorrupt):
        LocalIndexStore(tmp_path / "idx").load()
    clock.now = 5
    assert retriever.retrieve("badge office").pages
    assert retriever.bundle.version == first


class Unlistable:
    """Lists folders as `os.scandir` does, except the ones named, which fail as a folder without read permission."""

    def __init__(self, *denied: Path) -> None:
        self.denied = set(denied)

    def __call__(self, folder: Path):
        if Path(folder) in self.denied:
            raise PermissionError(13, "Permission denied", str(folder))
        return os.scandir(folder)


def test_a_folder_that_cannot_be_read_says_permission_denied(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", PAGES)
    with pytest.raises(HelpdeskError, match=r"not readable.*permission denied") as err:
        ExportSource(folder, scandir=Unlistable(folder)).page_ids()
    assert err.value.exit_code == 2


def test_a_subfolder_that_cannot_be_read_fails_the_run_and_allow_partial_keeps_its_pages(tmp_path: Path) -> None:
    folder, store, first = published(tmp_path)
    sub = folder / "archive"
    sub.mkdir()
    (folder / "page-0002.json").rename(sub / "page-0002.json")
    denied = Unlistable(sub)
    with pytest.raises(HelpdeskError, match=r"archive/"):
        run_ingest(ExportSource(folder, scandir=denied), HashEmbedder(), store, IngestOptions(index_type="flat"))
    assert store.current_version() == first
    options = IngestOptions(index_type="flat", allow_partial=True, full=True)
    summary = run_ingest(ExportSource(folder, scandir=denied), HashEmbedder(), store, options)
    assert summary.pages_deleted == 0 and set(store.load().pages) == {"0", "1", "2", "3"}


def test_a_full_ingest_recovers_over_a_junk_local_pointer(tmp_path: Path) -> None:
    folder, _, first = published(tmp_path)
    (tmp_path / "idx" / "CURRENT").write_bytes(b"\xff\xfe junk")
    summary = ingest(folder, LocalIndexStore(tmp_path / "idx"), full=True)
    assert summary.published and summary.index_version != first
    assert len(LocalIndexStore(tmp_path / "idx").load().chunks) == 4
