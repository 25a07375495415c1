"""S3IndexStore on moto's server (real boto3 over HTTP): versions, pointer, checksums, cache, refresh, races."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
from fakes.clock import FakeClock
from support import ROOT, HashEmbedder, page_object, write_export

from index_store.exceptions import IndexCorrupt, IndexNotFound, IndexStoreError, PublishConflict
from index_store.format import READER_FILES, parse_manifest, verify_file
from index_store.s3 import S3IndexStore
from ingest.pipeline import IngestOptions, run_ingest
from ingest.sources.export import ExportSource

LOCATION = "s3://helpdesk-index/prod/kb"


def pages(n: int = 4, tag: str = "") -> list[dict]:
    return [
        page_object(str(i), f"Guide {i}", f"<p>Step {i}: open the tool {tag}and press start.</p>") for i in range(n)
    ]


def ingest(tmp_path: Path, store: S3IndexStore, objs: list[dict], **options):
    folder = write_export(tmp_path / "export", objs)
    return run_ingest(ExportSource(folder), HashEmbedder(), store, IngestOptions(index_type="sq8", **options))


class Switchable:
    """An injected S3 client whose connection the test can cut: every call goes to `client`."""

    def __init__(self, client: object) -> None:
        self.client = client

    def __getattr__(self, name: str) -> object:
        return getattr(self.client, name)


def store(tmp_path: Path, name: str = "cache", **kw) -> S3IndexStore:
    return S3IndexStore(LOCATION, cache_dir=tmp_path / name, **kw)


def objects(prefix: str = "prod/kb/") -> list[str]:
    resp = boto3.client("s3").list_objects_v2(Bucket="helpdesk-index", Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def corrupt(key: str, data: bytes = b"not what was published") -> None:
    boto3.client("s3").put_object(Bucket="helpdesk-index", Key=key, Body=data)


def pointer() -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket="helpdesk-index", Key="prod/kb/CURRENT")["Body"].read())


def assert_complete(version: str) -> None:
    """Every file of the version is there and matches the manifest the pointer names."""
    s3 = boto3.client("s3")
    get = lambda name: s3.get_object(Bucket="helpdesk-index", Key=f"prod/kb/versions/{version}/{name}")["Body"].read()  # noqa: E731
    manifest = parse_manifest(get("manifest.json"), version)
    for name in manifest["files"]:
        verify_file(manifest, name, get(name), version)


def test_publish_writes_a_version_then_the_pointer_and_readers_load_it(bucket: str, tmp_path: Path) -> None:
    s = ingest(tmp_path, store(tmp_path, "writer"), pages())
    keys = objects()
    assert "prod/kb/CURRENT" in keys
    assert {k.rsplit("/", 1)[-1] for k in keys if "/versions/" in k} == {
        *READER_FILES,
        "embeddings.npy",
        "manifest.json",
    }
    assert pointer()["version"] == s.index_version
    reader = store(tmp_path)
    bundle = reader.load()
    assert bundle.version == s.index_version and bundle.embeddings is None and bundle.index_type == "sq8"
    assert len(bundle.chunks) == 4 and reader.current_version() == s.index_version
    cached = reader.cache_root / s.index_version
    assert {p.name for p in cached.iterdir() if p.is_file() and not p.name.startswith(".")} == {
        *READER_FILES,
        "manifest.json",
    }
    assert [p.name for p in cached.iterdir() if p.is_dir()] == [f".lexical-{manifest_sha(cached, 'lexical.tantivy')}"]


def manifest_sha(folder: Path, name: str) -> str:
    return json.loads((folder / "manifest.json").read_text())["files"][name]["sha256"][:24]


def test_incremental_run_reads_the_embedding_cache_from_s3(bucket: str, tmp_path: Path) -> None:
    ingest(tmp_path, store(tmp_path, "w1"), pages())
    emb = HashEmbedder()
    folder = write_export(tmp_path / "export", [*pages(), page_object("9", "New", "<p>A new page.</p>")])
    s = run_ingest(ExportSource(folder), emb, store(tmp_path, "w2"), IngestOptions())
    assert s.chunks_embedded == emb.texts_embedded == 1 and s.chunks_reused == 4


def test_no_index_yet_is_a_clear_error(bucket: str, tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match=r"no published index at s3://helpdesk-index/prod/kb"):
        store(tmp_path).load()


def test_missing_bucket_is_a_clear_error_before_anything_is_embedded(aws, tmp_path: Path) -> None:
    from index_store.exceptions import IndexStoreError

    with pytest.raises(IndexStoreError, match="bucket helpdesk-index does not exist") as err:
        store(tmp_path).load()
    assert not isinstance(err.value, IndexNotFound)  # not mistaken for a first run
    emb = HashEmbedder()
    with pytest.raises(IndexStoreError, match="does not exist"):
        run_ingest(ExportSource(write_export(tmp_path / "e", pages())), emb, store(tmp_path, "w"), IngestOptions())
    assert emb.texts_embedded == 0  # no paid embedding calls for an index that cannot be published


def test_bad_location_is_a_clear_error() -> None:
    with pytest.raises(IndexStoreError, match="expected s3://bucket/prefix"):
        S3IndexStore("s3://")


def test_keeps_the_last_k_versions(bucket: str, tmp_path: Path) -> None:
    versions = [
        ingest(tmp_path, store(tmp_path, f"w{i}", keep=2), pages(tag=f"v{i} "), full=True).index_version
        for i in range(4)
    ]
    kept = {k.split("/")[3] for k in objects() if "/versions/" in k}
    assert kept == set(versions[-2:])
    assert pointer()["version"] == versions[-1] and pointer()["previous"][:3] == versions[-2::-1]


def test_reader_rechecks_the_pointer_at_most_every_n_seconds(bucket: str, tmp_path: Path) -> None:
    first = ingest(tmp_path, store(tmp_path, "w1"), pages()).index_version
    clock = FakeClock()
    reader = store(tmp_path, refresh_seconds=60, clock=clock)
    assert reader.load().version == first
    second = ingest(tmp_path, store(tmp_path, "w2"), pages(tag="new "), full=True).index_version
    clock.advance(59)
    assert reader.load().version == first
    clock.advance(2)
    assert reader.load().version == second


def test_corrupt_object_is_refused_with_a_clear_error(bucket: str, tmp_path: Path) -> None:
    version = ingest(tmp_path, store(tmp_path, "w"), pages()).index_version
    corrupt(f"prod/kb/versions/{version}/faiss.index")
    with pytest.raises(IndexCorrupt, match=r"faiss.index fails its checksum"):
        store(tmp_path).load()


def test_manifest_not_matching_the_pointer_is_refused(bucket: str, tmp_path: Path) -> None:
    version = ingest(tmp_path, store(tmp_path, "w"), pages()).index_version
    key = f"prod/kb/versions/{version}/manifest.json"
    data = boto3.client("s3").get_object(Bucket="helpdesk-index", Key=key)["Body"].read()
    corrupt(key, data.replace(b'"chunk_count": 4', b'"chunk_count": 5'))
    with pytest.raises(IndexCorrupt, match="does not match the pointer"):
        store(tmp_path).load()


def test_good_version_keeps_serving_when_the_new_one_is_corrupt(
    bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = ingest(tmp_path, store(tmp_path, "w1"), pages()).index_version
    clock = FakeClock()
    reader = store(tmp_path, refresh_seconds=0, clock=clock)
    assert reader.load().version == first
    second = ingest(tmp_path, store(tmp_path, "w2"), pages(tag="new "), full=True).index_version
    corrupt(f"prod/kb/versions/{second}/docstore.sqlite")
    with caplog.at_level(logging.ERROR, logger="index_store.s3"):
        assert reader.load().version == first
    assert any(getattr(r, "refused_version", "") == second for r in caplog.records)
    # a cold start with the same /tmp cache also falls back to the last good version it cached
    assert store(tmp_path).load().version == first


def test_corrupt_cache_file_is_downloaded_again(bucket: str, tmp_path: Path) -> None:
    version = ingest(tmp_path, store(tmp_path, "w"), pages()).index_version
    reader = store(tmp_path)
    reader.load()
    (reader.cache_root / version / "faiss.index").write_bytes(b"garbage")
    assert len(store(tmp_path).load().chunks) == 4


def test_interrupted_upload_never_moves_the_pointer(bucket: str, tmp_path: Path) -> None:
    first = ingest(tmp_path, store(tmp_path, "w1"), pages()).index_version
    client = boto3.client("s3")
    calls = {"n": 0}
    real_put = client.put_object

    def failing_put(**kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("network went away")
        return real_put(**kw)

    client.put_object = failing_put
    with pytest.raises(ConnectionError):
        ingest(tmp_path, S3IndexStore(LOCATION, client=client, cache_dir=tmp_path / "w2"), pages(tag="x "), full=True)
    assert pointer()["version"] == first
    assert {k.split("/")[3] for k in objects() if "/versions/" in k} == {first}  # the partial version is gone
    assert store(tmp_path).load().version == first


def test_stale_ingest_cannot_overwrite_a_newer_pointer(bucket: str, tmp_path: Path) -> None:
    ingest(tmp_path, store(tmp_path, "w0"), pages())
    slow = store(tmp_path, "slow")
    slow.load(with_embeddings=True)  # run A reads the current version ...
    winner = ingest(tmp_path, store(tmp_path, "fast"), pages(tag="B "), full=True).index_version  # ... B publishes
    with pytest.raises(PublishConflict, match="another ingest published"):
        ingest(tmp_path, slow, pages(tag="A "))  # ... then A tries to publish on top of what it read
    assert pointer()["version"] == winner
    assert_complete(winner)
    assert {k.split("/")[3] for k in objects() if "/versions/" in k} == {winner, pointer()["previous"][0]}


def test_racing_ingests_always_leave_the_pointer_on_a_complete_version(bucket: str, tmp_path: Path) -> None:
    ingest(tmp_path, store(tmp_path, "w0"), pages())
    outcomes: list[str] = []

    def one(i: int) -> None:
        folder = write_export(tmp_path / f"export{i}", pages(n=6, tag=f"run{i} "))
        try:
            s = run_ingest(ExportSource(folder), HashEmbedder(), store(tmp_path, f"r{i}"), IngestOptions())
            outcomes.append(s.index_version)
        except PublishConflict:
            outcomes.append("conflict")

    for _ in range(3):
        threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert_complete(pointer()["version"])
    assert any(o != "conflict" for o in outcomes) and len(outcomes) == 9


def test_cli_refuses_a_corrupt_index_without_a_traceback(bucket: str, tmp_path: Path, aws) -> None:
    version = ingest(tmp_path, store(tmp_path, "w"), pages()).index_version
    corrupt(f"prod/kb/versions/{version}/docstore.sqlite")
    env = {**os.environ, "HELPDESK_INDEX_CACHE_DIR": str(tmp_path / "cli-cache"), "HELPDESK_HOME": str(tmp_path / "h")}
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "ask", "how do I press start?", "--index", LOCATION],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "docstore.sqlite fails its checksum" in proc.stderr and LOCATION in proc.stderr


def test_reader_keeps_serving_when_s3_is_briefly_unreachable(bucket: str, tmp_path: Path) -> None:
    from botocore.config import Config

    version = ingest(tmp_path, store(tmp_path, "w"), pages()).index_version
    clock = FakeClock()
    s3 = Switchable(boto3.client("s3"))
    reader = store(tmp_path, refresh_seconds=10, clock=clock, client=s3)
    assert reader.load().version == version
    s3.client = boto3.client(
        "s3", endpoint_url="http://127.0.0.1:9", config=Config(retries={"total_max_attempts": 1}, connect_timeout=1)
    )
    clock.advance(11)
    assert reader.load().version == version
    with pytest.raises(IndexStoreError, match="cannot reach S3"):
        store(tmp_path, "cold", client=s3).load()
