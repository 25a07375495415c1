"""The `helpdesk` CLI end to end, as a user runs it: a real subprocess, real files, exit codes and stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, SAMPLE_EXPORT


def run(*args: str, env: dict | None = None, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="module")
def indexed(home: Path) -> dict:
    env = {"HELPDESK_HOME": str(home)}
    out = run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--json", env=env)
    return {"env": env, "summary": json.loads(out.stdout.strip().splitlines()[-1])}


def test_ingest_json_contract(indexed: dict) -> None:
    s = indexed["summary"]
    for key in (
        "pages_seen",
        "pages_changed",
        "pages_deleted",
        "chunks_total",
        "chunks_embedded",
        "chunks_reused",
        "index_version",
    ):
        assert key in s
    assert s["pages_seen"] == 49 and s["chunks_embedded"] == s["chunks_total"] > 100


def test_second_ingest_embeds_nothing(indexed: dict) -> None:
    out = run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--json", env=indexed["env"])
    s = json.loads(out.stdout.strip().splitlines()[-1])
    assert s["chunks_embedded"] == 0 and s["index_version"] == indexed["summary"]["index_version"]


def test_ask_answers_with_numbered_sources(indexed: dict) -> None:
    out = run("ask", "how do I move okta verify to my new phone?", env=indexed["env"])
    assert "[1]" in out.stdout and "Sources:" in out.stdout
    assert "https://northwind.atlassian.net/wiki/spaces/IT/pages/100202" in out.stdout


def test_ask_json_contract(indexed: dict) -> None:
    out = run("ask", "vpn keeps dropping every few minutes", "--json", env=indexed["env"])
    r = json.loads(out.stdout)
    assert set(r) == {"answer", "decision", "confidence", "sources", "ticket_id"}
    assert r["decision"] == "answer" and r["ticket_id"] is None and 0 <= r["confidence"] <= 1
    assert r["sources"][0]["page_id"] == "100102"
    assert set(r["sources"][0]) == {"page_id", "title", "url", "score"}


def test_uncovered_question_opens_ticket_and_writes_email(indexed: dict, home: Path) -> None:
    out = run("ask", "how many weeks of paternity leave do we get?", "--json", env=indexed["env"])
    r = json.loads(out.stdout)
    assert r["decision"] == "ticket" and r["ticket_id"].startswith("IT-")
    assert r["ticket_id"] in r["answer"]
    emails = list((home / "outbox").glob(f"{r['ticket_id']}-*.eml"))
    assert len(emails) == 1 and "paternity leave" in emails[0].read_text()
    listed = json.loads(run("tickets", "list", "--json", env=indexed["env"]).stdout)
    assert r["ticket_id"] in [t["ticket_id"] for t in listed]
    shown = run("tickets", "show", r["ticket_id"], env=indexed["env"]).stdout
    assert "paternity" in shown and "Email: sent" in shown
    run("tickets", "resolve", r["ticket_id"], env=indexed["env"])
    assert (
        json.loads(run("tickets", "show", r["ticket_id"], "--json", env=indexed["env"]).stdout)["status"] == "resolved"
    )


def test_eval_writes_results_and_metrics_without_tickets(indexed: dict, home: Path, tmp_path: Path) -> None:
    before = len(list((home / "outbox").glob("*.eml"))) if (home / "outbox").exists() else 0
    qs = tmp_path / "q.jsonl"
    qs.write_text(
        json.dumps({"id": "a", "question": "printer says SC542", "gold_page_ids": ["100306"]})
        + "\n"
        + json.dumps({"id": "b", "question": "when is payday this month?", "gold_page_ids": []})
        + "\n"
    )
    out_file = tmp_path / "r.jsonl"
    out = run("eval", str(qs), "--out", str(out_file), env=indexed["env"])
    lines = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    fields = {"id", "page_ids", "confidence", "decision", "latency_ms"}
    assert set(lines[0]) == fields | ({"cited_page_ids"} if lines[0]["decision"] == "answer" else set())
    assert len(lines[0]["page_ids"]) >= 10
    assert "recall_at_1" in out.stdout and "uncovered_ticket_rate" in out.stdout
    after = len(list((home / "outbox").glob("*.eml"))) if (home / "outbox").exists() else 0
    assert after == before


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question_is_a_clear_error(indexed: dict, question: str) -> None:
    out = run("ask", question, env=indexed["env"], check_rc=2)
    assert "question is empty" in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1


def test_overlong_question_is_rejected(indexed: dict) -> None:
    out = run("ask", "x" * 4001, env=indexed["env"], check_rc=2)
    assert "4,001 characters" in out.stderr and "Traceback" not in out.stderr


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    out = run("ask", "vpn?", "--index", str(tmp_path / "none"), check_rc=1)
    assert "no index" in out.stderr and "helpdesk ingest" in out.stderr and "Traceback" not in out.stderr


def test_corrupt_index_is_a_clear_error(indexed: dict, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "idx"
    shutil.copytree(Path(indexed["env"]["HELPDESK_HOME"]) / "index", copy)
    version = (copy / "CURRENT").read_text().strip()
    (copy / "versions" / version / "faiss.index").write_bytes(b"garbage")
    out = run("ask", "vpn?", "--index", str(copy), check_rc=1)
    assert "checksum" in out.stderr and "Traceback" not in out.stderr


def test_unreadable_export_is_a_clear_error(tmp_path: Path) -> None:
    out = run("ingest", "--source", f"export:{tmp_path / 'nope'}", "--index", str(tmp_path / "i"), check_rc=2)
    assert "export folder not found" in out.stderr and "Traceback" not in out.stderr
    out = run("ingest", "--source", "confluenz:x", check_rc=2)
    assert "unknown --source" in out.stderr


def test_export_with_junk_is_ingested_with_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil_src = SAMPLE_EXPORT / "content-001.json"
    folder.mkdir()
    (folder / "a.json").write_text(shutil_src.read_text())
    (folder / "junk.json").write_text("not json at all")
    (folder / "comment.json").write_text(json.dumps({"id": "1", "type": "comment"}))
    out = run("ingest", "--source", f"export:{folder}", "--index", str(tmp_path / "i"), check_rc=2)
    assert "junk.json" in out.stderr and "--allow-partial" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "i" / "CURRENT").exists()
    out = run("ingest", "--source", f"export:{folder}", "--index", str(tmp_path / "i"), "--allow-partial", "--json")
    s = json.loads(out.stdout.strip().splitlines()[-1])
    assert s["pages_seen"] == 25 and s["source_warnings"] == 2
    assert "junk.json" in out.stderr


def test_help_lists_commands() -> None:
    out = run("--help")
    for cmd in ("ingest", "ask", "eval", "tickets"):
        assert cmd in out.stdout


def test_ingest_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal has a size
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpdesk.cli",
            "ingest",
            "--source",
            f"export:{SAMPLE_EXPORT}",
            "--index",
            str(tmp_path / "i"),
        ],
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=ROOT,
        timeout=120,
    )
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "parsing" in terminal and "%|" in terminal  # tqdm's bar
    assert "%|" not in proc.stdout.decode()  # the summary on stdout stays clean


def test_export_with_no_usable_page_publishes_nothing_and_keeps_the_index(indexed: dict, tmp_path: Path) -> None:
    home = Path(indexed["env"]["HELPDESK_HOME"])
    before = (home / "index" / "CURRENT").read_text()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "blog.json").write_text(json.dumps({"id": "9", "type": "blogpost", "title": "News"}))
    (junk / "broken.json").write_text("{oops")
    out = run("ingest", "--source", f"export:{junk}", env=indexed["env"], check_rc=2)
    assert "broken.json" in out.stderr and "Traceback" not in out.stderr
    (junk / "broken.json").unlink()
    out = run("ingest", "--source", f"export:{junk}", env=indexed["env"], check_rc=2)
    assert "no pages to index" in out.stderr and "not a Confluence page" in out.stderr
    assert (home / "index" / "CURRENT").read_text() == before
    assert json.loads(run("ask", "vpn keeps dropping", "--json", env=indexed["env"]).stdout)["sources"]


def test_bad_eval_input_and_settings_are_usage_errors(indexed: dict, tmp_path: Path) -> None:
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps({"id": "a", "question": "vpn?", "gold_page_ids": "100102"}) + "\n")
    out = run("eval", str(qs), "--out", str(tmp_path / "r.jsonl"), env=indexed["env"], check_rc=2)
    assert "must be a list" in out.stderr
    qs.write_bytes(b'{"id": "a", "question": "caf\xe9"}\n')
    assert "not UTF-8" in run("eval", str(qs), "--out", str(tmp_path / "r"), env=indexed["env"], check_rc=2).stderr
    qs.write_text(json.dumps({"id": "a", "question": "vpn?"}) + "\n")
    out = run("eval", str(qs), "--out", str(tmp_path / "no" / "dir" / "r.jsonl"), env=indexed["env"], check_rc=2)
    assert "cannot write" in out.stderr and "Traceback" not in out.stderr
    out = run("ask", "vpn?", env={**indexed["env"], "HELPDESK_LOG_LEVEL": "verbose"}, check_rc=2)
    assert "HELPDESK_LOG_LEVEL" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("question", ["???", "😀 🙏"])
def test_question_without_words_is_rejected_without_a_ticket(indexed: dict, question: str) -> None:
    out = run("ask", question, env=indexed["env"], check_rc=2)
    assert "has no words" in out.stderr and "Traceback" not in out.stderr
