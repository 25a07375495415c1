"""Hostile input through the real CLI: undecodable argv bytes, terminal escapes, bidi overrides, absurd counts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, page_object, write_export

BIDI_PAGE = page_object(
    "501",
    "Printer setup",
    "<h2>Adding the office printer</h2><p>Open System Settings, choose Printers and add "
    "\u202eRETNIRP-ECIFFO\u202c by its name. The office printer needs the PaperCut client installed first, "
    "which the software catalogue offers to every managed laptop.</p>",
)


def run(*args: str | bytes, home: Path, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "HELPDESK_HOME": str(home)},
        timeout=120,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr.decode()
    return proc


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("hostile-home")
    export = write_export(home / "export", [BIDI_PAGE])
    run("ingest", "--source", f"export:{export}", home=home)
    return home


def test_undecodable_bytes_in_a_question_are_answered_not_an_internal_error(home: Path) -> None:
    out = run("ask", b"how do I add the office printer \xed\xa0\x80?", "--json", home=home)
    result = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert result["decision"] in ("answer", "ticket") and b"internal error" not in out.stderr


def test_terminal_escapes_in_a_question_never_reach_the_terminal_or_the_ticket(home: Path) -> None:
    question = "\x1b]0;owned\x07my pension \x1b[31mstatement\x1b[0m is missing \x1b[2J"
    out = run("ask", question, "--json", home=home)
    ticket_id = json.loads(out.stdout.decode().strip().splitlines()[-1])["ticket_id"]
    assert ticket_id
    listing = run("tickets", "list", home=home).stdout.decode()
    shown = run("tickets", "show", ticket_id, home=home).stdout.decode()
    stored = json.loads(run("tickets", "show", ticket_id, "--json", home=home).stdout)
    assert "my pension statement is missing" in listing and "\x1b" not in listing + shown
    assert stored["question"] == "my pension statement is missing"


def test_bidi_overrides_in_a_page_never_reach_the_answer(home: Path) -> None:
    out = run("ask", "how do I add the office printer with papercut?", "--json", home=home)
    result = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert "\u202e" not in json.dumps(result, ensure_ascii=False) and "\u202e" not in out.stdout.decode()
    assert result["sources"] and result["sources"][0]["page_id"] == "501"


@pytest.mark.parametrize("limit", ["99999999999999999999", "1" + "0" * 5000, "-3", "0", "ten", "1e3"])
def test_an_absurd_limit_is_a_usage_error(home: Path, limit: str) -> None:
    out = run("tickets", "list", "--limit", limit, home=home, check_rc=2)
    err = out.stderr.decode()
    assert "--limit" in err and "Traceback" not in err and "internal error" not in err
