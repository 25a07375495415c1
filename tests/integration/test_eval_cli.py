"""`helpdesk eval` as a user runs it: latency percentiles, `--misses`, and every bad question file as exit 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, SAMPLE_EXPORT

from helpdesk.evaluation import percentile

METRIC_KEYS = {"questions", "covered", "uncovered", "recall_at_1", "recall_at_5", "mrr_at_10", "covered_ticket_rate"}


def run(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=120,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def titles() -> dict[str, str]:
    out = {}
    for f in SAMPLE_EXPORT.glob("*.json"):
        for page in json.loads(f.read_text())["results"]:
            out[page["id"]] = page["title"]
    return out


QUESTIONS = [
    {"id": "printer", "question": "printer says SC542", "gold_page_ids": ["100306"]},
    {"id": "wrong-gold", "question": "vpn keeps dropping every few minutes", "gold_page_ids": ["100000"]},
    {"id": "payday", "question": "when is payday this month?", "gold_page_ids": []},
    {"id": "unscored", "question": "how do I connect a guest to the wifi?"},
]


@pytest.fixture
def qs(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


def test_json_summary_adds_latency_percentiles_of_the_results_and_keeps_the_old_fields(
    sample_index: Path, qs: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "r.jsonl"
    out = run("eval", str(qs), "--index", str(sample_index), "--out", str(out_file), "--json")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert METRIC_KEYS | {"uncovered_ticket_rate", "auroc"} <= set(summary) and "misses" not in summary
    latencies = [json.loads(line)["latency_ms"] for line in out_file.read_text().splitlines()]
    assert len(latencies) == 4 and all(x > 0 for x in latencies)
    assert summary["latency_p50_ms"] == round(percentile(latencies, 50), 2)
    assert summary["latency_p95_ms"] == round(percentile(latencies, 95), 2)
    assert 0 < summary["latency_p50_ms"] <= summary["latency_p95_ms"] <= max(latencies)


def test_misses_show_the_wrongly_expected_question_with_its_top_pages(
    sample_index: Path, qs: Path, tmp_path: Path
) -> None:
    out = run("eval", str(qs), "--index", str(sample_index), "--out", str(tmp_path / "r.jsonl"), "--misses", "5")
    text = out.stdout
    assert "latency_p50_ms: " in text and "latency_p95_ms: " in text
    listing = text.partition("worst misses (")[2]
    assert listing, text
    assert "printer:" not in listing and "unscored" not in listing  # ranked first and answered; not scored
    assert "wrong-gold: expected page " in listing and "expected 100000" in listing
    results = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    top = results[1]["page_ids"][0]
    assert f"1. {top} {titles()[top]}" in listing

    js = run(
        "eval", str(qs), "--index", str(sample_index), "--out", str(tmp_path / "r2.jsonl"), "--misses", "1", "--json"
    )
    summary = json.loads(js.stdout.strip().splitlines()[-1])
    assert len(summary["misses"]) == 1
    miss = summary["misses"][0]
    assert miss["id"] == "wrong-gold" and miss["top_page_ids"] == results[1]["page_ids"][:3]
    assert miss["rank"] is None or miss["rank"] > 1


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_misses_must_be_a_positive_number(sample_index: Path, qs: Path, tmp_path: Path, value: str) -> None:
    out = run(
        "eval", str(qs), "--index", str(sample_index), "--out", str(tmp_path / "r"), "--misses", value, check_rc=2
    )
    assert "--misses" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("[" * 100_000, "JSON nested too deeply"),
        ('["id", "question"]', "must be a JSON object"),
        ('{"id": "x", "gold_page_ids": []}', 'no "question" field'),
        (
            '{"id": "x", "question": "vpn?", "gold_page_ids": ["999999"]}',
            'expected page id "999999" is not in the index',
        ),
    ],
)
def test_a_bad_question_line_is_exit_2_naming_file_and_line_and_keeps_old_results(
    sample_index: Path, tmp_path: Path, bad_line: str, message: str
) -> None:
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps(QUESTIONS[0]) + "\n" + bad_line + "\n")
    out_file = tmp_path / "r.jsonl"
    out_file.write_text("previous results\n")
    out = run("eval", str(qs), "--index", str(sample_index), "--out", str(out_file), check_rc=2)
    assert f"helpdesk: error: {qs}:2: " in out.stderr and message in out.stderr
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    assert out_file.read_text() == "previous results\n"


def test_an_unreadable_question_file_is_exit_2_naming_it(sample_index: Path, tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing.jsonl"):
        out = run("eval", str(path), "--index", str(sample_index), "--out", str(tmp_path / "r.jsonl"), check_rc=2)
        assert f"cannot read {path}" in out.stderr and "Traceback" not in out.stderr


def test_answered_lines_carry_their_cited_pages_and_the_summary_scores_them(
    sample_index: Path, qs: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "r.jsonl"
    out = run("eval", str(qs), "--index", str(sample_index), "--out", str(out_file), "--json")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    answered = [r for r in lines if r["decision"] == "answer"]
    assert answered and all(r["cited_page_ids"] and set(r["cited_page_ids"]) <= set(r["page_ids"]) for r in answered)
    assert all("cited_page_ids" not in r for r in lines if r["decision"] == "ticket")
    gold = {q["id"]: q.get("gold_page_ids") for q in QUESTIONS}
    scored = [r for r in answered if gold[r["id"]]]
    right = sum(r["cited_page_ids"][0] in gold[r["id"]] for r in scored)
    assert summary["cited_correct"] == round(right / len(scored), 4)
