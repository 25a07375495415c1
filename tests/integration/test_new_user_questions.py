"""What a new user tried on the sample space, through the real CLI over examples/it-space."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, SAMPLE_EXPORT


def helpdesk(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    index = tmp_path / "index"
    helpdesk("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(index))
    return index


def ask(index: Path, question: str) -> dict:
    return json.loads(helpdesk("ask", question, "--index", str(index), "--json").stdout.strip().splitlines()[-1])


def test_docker_desktop_is_answered_from_the_software_catalogue_not_the_laptop_page(sample: Path) -> None:
    result = ask(sample, "can I install Docker Desktop on my laptop?")
    assert result["decision"] == "answer"
    assert result["sources"][0]["title"] == "Approved software catalogue"
    assert "| Docker Desktop |" in result["answer"]
    assert result["answer"].startswith("From Approved software catalogue [1]:")


def test_a_jira_api_token_is_not_answered_with_okta_password_steps(sample: Path) -> None:
    result = ask(sample, "How do I reset my Jira API token?")
    assert result["decision"] == "ticket" and result["ticket_id"]
    assert "Okta Verify" not in result["answer"]


def test_a_ticket_lists_no_unrelated_pages(sample: Path, tmp_path: Path) -> None:
    out = helpdesk("ask", "when is payday this month?", "--index", str(sample)).stdout
    assert "decision: ticket" in out and "Pages that might help" not in out
    emails = list((Path(os.environ["HELPDESK_HOME"]) / "outbox").rglob("*.eml"))
    assert emails and all("Pages the assistant looked at:\n  (none)" in e.read_text() for e in emails)


def test_a_ticket_still_lists_the_page_that_shares_the_question_terms(sample: Path) -> None:
    result = ask(sample, "How do I reset my Jira API token?")
    assert "GitHub access for engineers" in [s["title"] for s in result["sources"]]
