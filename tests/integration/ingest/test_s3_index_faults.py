"""A junk S3 pointer (real boto3 against moto's server): `ingest --full` recovers, cold readers use their cache."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from support import ROOT, HashEmbedder, page_object, write_export

from index_store.exceptions import IndexCorrupt
from index_store.s3 import S3IndexStore
from ingest.pipeline import IngestOptions, run_ingest
from ingest.sources.export import ExportSource

LOCATION = "s3://helpdesk-index/prod/kb"
POINTER_KEY = "prod/kb/CURRENT"
PAGES = [page_object(str(i), f"Guide {i}", f"<p>Step {i}: open the tool and press start.</p>") for i in range(3)]


def store(tmp_path: Path, name: str) -> S3IndexStore:
    return S3IndexStore(LOCATION, cache_dir=tmp_path / name)


def ingest(tmp_path: Path, target: S3IndexStore, objs: list[dict], **options):
    folder = write_export(tmp_path / "export", objs)
    return run_ingest(ExportSource(folder), HashEmbedder(), target, IngestOptions(index_type="flat", **options))


def junk_pointer(data: bytes = b"\xff{not a pointer") -> None:
    boto3.client("s3").put_object(Bucket="helpdesk-index", Key=POINTER_KEY, Body=data)


def pointer() -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket="helpdesk-index", Key=POINTER_KEY)["Body"].read())


@pytest.mark.parametrize("full", [True, False])
def test_ingest_recovers_over_a_junk_pointer(bucket: str, tmp_path: Path, full: bool) -> None:
    first = ingest(tmp_path, store(tmp_path, "w1"), PAGES).index_version
    junk_pointer()
    with pytest.raises(IndexCorrupt, match="pointer"):
        store(tmp_path, "cold").load()
    summary = ingest(tmp_path, store(tmp_path, "w2"), PAGES, full=full)
    assert summary.published and summary.index_version != first
    assert pointer()["version"] == summary.index_version
    assert pointer()["previous"] == [first]  # the good version stays as history, kept by retention
    assert len(store(tmp_path, "cold2").load().chunks) == 3


def test_a_cold_reader_uses_its_cached_good_version_when_the_pointer_is_junk(
    bucket: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = ingest(tmp_path, store(tmp_path, "w"), PAGES).index_version
    warm = store(tmp_path, "cache")
    assert warm.load().version == first  # fills the /tmp cache
    junk_pointer(json.dumps({"version": "../../etc", "manifest_sha256": "x"}).encode())
    with caplog.at_level(logging.WARNING, logger="index_store.s3"):
        assert store(tmp_path, "cache").load().version == first
    assert any(r.levelno == logging.WARNING and "pointer" in r.getMessage() for r in caplog.records)
    with pytest.raises(IndexCorrupt, match="pointer"):  # nothing cached: the error, clearly
        store(tmp_path, "empty-cache").load()
    with pytest.raises(IndexCorrupt):  # an ingest must not build on a version the pointer does not name
        store(tmp_path, "cache").load(with_embeddings=True)


def test_cli_full_ingest_recovers_over_a_junk_pointer(bucket: str, tmp_path: Path, aws) -> None:
    ingest(tmp_path, store(tmp_path, "w"), PAGES)
    junk_pointer()
    folder = write_export(tmp_path / "export2", PAGES)
    env = {"HELPDESK_HOME": str(tmp_path / "home"), "HELPDESK_INDEX_CACHE_DIR": str(tmp_path / "cli-cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "ingest", "--source", f"export:{folder}", "--index", LOCATION, "--full"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert pointer()["version"] in proc.stdout
