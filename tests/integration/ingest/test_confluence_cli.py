"""`helpdesk ingest --source confluence:` and `helpdesk export` as a user runs them (subprocess, the fake)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.confluence import ConfluenceFake, load_export_into
from support import ROOT, SAMPLE_EXPORT, SAMPLE_QUESTIONS

from ingest.sources.export import ExportSource


def helpdesk(*args: str, env: dict, rc: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=180,
    )
    if rc is not None:
        assert proc.returncode == rc, proc.stderr
    return proc


@pytest.fixture(scope="module")
def sample_confluence() -> Iterator[ConfluenceFake]:
    with ConfluenceFake() as fake:
        load_export_into(fake, SAMPLE_EXPORT)
        yield fake


def env_for(fake: ConfluenceFake, home: Path, **extra: str) -> dict:
    return {
        "HELPDESK_HOME": str(home),
        "CONFLUENCE_URL": fake.url,
        "CONFLUENCE_USER": fake.user,
        "CONFLUENCE_TOKEN": fake.token,
        "CONFLUENCE_SPACES": "IT",
        "HELPDESK_DELETION_SWEEP_HOURS": "0",  # sweep on every run
        **extra,
    }


def last_json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_removed_page_disappears_from_ask_and_eval(sample_confluence: ConfluenceFake, tmp_path: Path) -> None:
    env = env_for(sample_confluence, tmp_path / "home")
    first = last_json(helpdesk("ingest", "--source", "confluence:", "--json", env=env))
    assert first["pages_seen"] == 49 and first["chunks_embedded"] == first["chunks_total"] > 100
    assert first["source_calls"] == 1 and first["listing"] == "full"
    question = "vpn keeps dropping every few minutes"
    before = json.loads(helpdesk("ask", question, "--json", env=env).stdout)
    assert "100102" in [s["page_id"] for s in before["sources"]]
    eval_file = tmp_path / "q.jsonl"
    eval_file.write_text(
        "".join(line for line in SAMPLE_QUESTIONS.read_text().splitlines(True) if "100102" in line), encoding="utf-8"
    )
    helpdesk("eval", str(eval_file), "--out", str(tmp_path / "before.jsonl"), env=env)
    assert any("100102" in json.loads(x)["page_ids"] for x in (tmp_path / "before.jsonl").read_text().splitlines())

    sample_confluence.delete("100102")
    try:
        again = last_json(helpdesk("ingest", "--source", "confluence:IT", "--json", env=env))
    finally:
        load_export_into_one(sample_confluence, "100102")
    assert again["pages_deleted"] == 1 and again["chunks_embedded"] == 0 and again["deletion_sweep"] is True
    after = json.loads(helpdesk("ask", question, "--json", env=env).stdout)
    assert "100102" not in [s["page_id"] for s in after["sources"]]
    refused = helpdesk("eval", str(eval_file), "--out", str(tmp_path / "after.jsonl"), env=env, rc=2)
    assert 'q.jsonl:1: expected page id "100102" is not in the index' in refused.stderr  # deleted since
    uncovered = [{**json.loads(x), "gold_page_ids": []} for x in eval_file.read_text().splitlines()]
    eval_file.write_text("".join(json.dumps(q) + "\n" for q in uncovered), encoding="utf-8")
    helpdesk("eval", str(eval_file), "--out", str(tmp_path / "after.jsonl"), env=env)
    assert not any("100102" in json.loads(x)["page_ids"] for x in (tmp_path / "after.jsonl").read_text().splitlines())


def load_export_into_one(fake: ConfluenceFake, pid: str) -> None:
    """Put one sample page back (the fake is shared by the module)."""
    scratch = ConfluenceFake()
    load_export_into(scratch, SAMPLE_EXPORT)
    fake.pages[pid] = scratch.pages[pid]


def test_unreachable_confluence_exits_non_zero_with_one_line(sample_confluence: ConfluenceFake, tmp_path: Path) -> None:
    env = env_for(sample_confluence, tmp_path / "home", CONFLUENCE_RETRY_BUDGET_SECONDS="0")
    env["CONFLUENCE_URL"] = sample_confluence.site + "/nothing-here"
    proc = helpdesk("ingest", "--source", "confluence:", env=env, rc=1)
    assert proc.stderr.startswith("helpdesk: error: Confluence has no") and "Traceback" not in proc.stderr


def test_missing_spaces_and_url_are_usage_errors(sample_confluence: ConfluenceFake, tmp_path: Path) -> None:
    env = env_for(sample_confluence, tmp_path / "home", CONFLUENCE_SPACES="")
    proc = helpdesk("ingest", "--source", "confluence:", env=env, rc=2)
    assert "CONFLUENCE_SPACES" in proc.stderr
    env = env_for(sample_confluence, tmp_path / "home", CONFLUENCE_URL="")
    proc = helpdesk("export", "--space", "IT", "--to", str(tmp_path / "x"), env=env, rc=2)
    assert "CONFLUENCE_URL is not set" in proc.stderr and not (tmp_path / "x").exists()


@pytest.fixture
def two_spaces() -> Iterator[ConfluenceFake]:
    with ConfluenceFake(user="", token="pat") as fake:  # Server/DC with a personal access token
        for i in range(230):
            fake.add_page(str(1000 + i), f"IT page {i}", f"<p>IT answer {i}.</p>", space="IT")
        for i in range(20):
            fake.add_page(str(5000 + i), f"HR page {i}", f"<p>HR answer {i}.</p>", space="HR")
        fake.pages["1005"].restricted_groups.append("admins")
        yield fake


def test_export_writes_the_export_format_and_reads_back(two_spaces: ConfluenceFake, tmp_path: Path) -> None:
    env = {"CONFLUENCE_URL": two_spaces.url, "CONFLUENCE_TOKEN": "pat", "HELPDESK_HOME": str(tmp_path / "h")}
    out = tmp_path / "snapshot"
    proc = helpdesk("export", "--space", "IT", "--space", "HR", "--to", str(out), env=env)
    assert "Exported 249 pages from 2 space(s)" in proc.stdout and "1 restricted left out" in proc.stderr
    files = sorted(p.name for p in out.glob("*.json"))
    assert files == ["HR-0001.json", "IT-0001.json", "IT-0002.json", "IT-0003.json"]
    doc = json.loads((out / "IT-0001.json").read_text())
    assert len(doc["results"]) == 99 and "next" in doc["_links"] and doc["_links"]["base"] == two_spaces.url
    pages = ExportSource(out).pages()
    assert len(pages) == 249 and "1005" not in {p.page_id for p in pages}
    assert all(p.body and p.version == 1 and p.url.startswith(two_spaces.url) for p in pages)

    (out / "notes.txt").write_text("mine")
    two_spaces.delete("1100")
    helpdesk("export", "--space", "IT", "--to", str(out), env=env)
    assert "1100" not in ExportSource(out).page_ids() and (out / "notes.txt").read_text() == "mine"
    assert (out / "HR-0001.json").exists()  # other spaces' files stay

    before = {p.name: p.read_bytes() for p in out.glob("*.json")}
    two_spaces.down = True
    proc = helpdesk(
        "export", "--space", "IT", "--to", str(out), env={**env, "CONFLUENCE_RETRY_BUDGET_SECONDS": "0"}, rc=1
    )
    assert "Confluence unreachable" in proc.stderr and "Traceback" not in proc.stderr
    assert {p.name: p.read_bytes() for p in out.glob("*.json")} == before  # a failed export loses nothing
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".snapshot")]
