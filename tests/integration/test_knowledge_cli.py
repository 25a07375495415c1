"""The knowledge loop from the command line over the bundled sample space: questions asked with `helpdesk ask` show
up in `helpdesk report`, the uncovered ones grouped into a gap, and `helpdesk digest` writes the email for IT."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from support import ROOT, SAMPLE_EXPORT

PENSION = (
    "How do I increase my pension contributions?",
    "Can I put more of my salary into the pension scheme? Reply to carol.jones@example.com",
    "who do I ask about changing my retirement pension payments?",
)
COVERED = (
    "My VPN keeps disconnecting every few minutes when I work from home",
    "how do I move okta verify to my new phone?",
)


def run(home: Path, *args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HELPDESK_HOME": str(home)},
        timeout=120,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


@pytest.fixture(scope="module")
def asked(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("knowledge-home")
    run(home, "ingest", "--source", f"export:{SAMPLE_EXPORT}")
    results = [json.loads(run(home, "ask", q, "--json").stdout) for q in (*PENSION, *COVERED)]
    return {"home": home, "results": results}


def test_report_counts_every_question_and_groups_the_uncovered_topic_into_one_gap(asked):
    report = json.loads(run(asked["home"], "report", "--json").stdout.strip().splitlines()[-1])
    assert {"period_days", "questions", "answered", "tickets", "deflection_rate", "helpful", "not_helpful", "gaps",
            "not_helpful_answers"} <= set(report)  # fmt: skip
    assert report["period_days"] == 7
    assert report["questions"] >= 5 and report["tickets"] >= 3 and report["answered"] >= 2
    assert report["deflection_rate"] == round(report["answered"] / report["questions"], 4)
    top = report["gaps"][0]
    assert top["count"] >= 2 and "pension" in top["topic"]
    pension_tickets = {r["ticket_id"] for r in asked["results"][:3]}
    assert set(top["ticket_ids"]) <= pension_tickets and len(top["ticket_ids"]) == top["count"]
    assert not any("okta" in q.lower() or "vpn" in q.lower() for g in report["gaps"] for q in g["questions"])
    stored = " ".join(q for g in report["gaps"] for q in g["questions"])
    assert "carol.jones@example.com" not in stored and "[email address]" in stored


def test_digest_writes_an_email_to_it_naming_the_gap(asked):
    home = asked["home"]
    before = set((home / "outbox").glob("*.eml"))
    out = run(home, "digest")
    [new] = set((home / "outbox").glob("*.eml")) - before
    assert str(new) in out.stdout
    msg = email.message_from_bytes(new.read_bytes(), policy=policy.default)
    assert "digest" in msg["Subject"].lower() and msg["To"] == "it-support@example.com"
    body = msg.get_body(("plain",)).get_content()
    assert "pension" in body and "How do I increase my pension contributions?" in body
    assert "VPN troubleshooting" in body  # among the pages most often cited


def test_eval_records_nothing(asked, tmp_path):
    home = asked["home"]
    before = json.loads(run(home, "report", "--json").stdout.strip().splitlines()[-1])["questions"]
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "1", "question": "How do I raise my pension contributions?"}) + "\n")
    run(home, "eval", str(questions), "--out", str(tmp_path / "out.jsonl"))
    after = json.loads(run(home, "report", "--json").stdout.strip().splitlines()[-1])["questions"]
    assert after == before


@pytest.mark.parametrize("days", ["0", "-3", "3651", "a week"])
def test_a_bad_period_exits_2_with_one_line_naming_it(asked, days):
    for command in ("report", "digest"):
        proc = run(asked["home"], command, "--days", days, check_rc=2)
        assert proc.stderr.count("\n") == 1 and "--days" in proc.stderr and days.split()[0] in proc.stderr


def test_an_unwritable_interaction_log_still_answers_with_a_warning(asked, tmp_path):
    (tmp_path / "interactions.sqlite3").mkdir()  # a folder where the database file should be
    proc = run(tmp_path, "ask", COVERED[1], "--index", str(asked["home"] / "index"), "--json")
    assert json.loads(proc.stdout)["decision"] == "answer"
    assert "not recorded" in proc.stderr and "interactions.sqlite3" in proc.stderr
