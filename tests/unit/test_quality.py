"""Retrieval and the confidence gate on the bundled sample space and its own question set."""

import json

import pytest
from support import SAMPLE_QUESTIONS

from helpdesk.cli import eval_metrics
from helpdesk.factory import build_assistant
from helpdesk.settings import Settings


@pytest.fixture(scope="module")
def results(sample_index):
    assistant = build_assistant(Settings.from_env(), str(sample_index), with_tickets=False)
    rows = [json.loads(line) for line in SAMPLE_QUESTIONS.read_text().splitlines() if line.strip()]
    out = []
    for row in rows:
        r = assistant.ask(row["question"], open_ticket=False)
        out.append({"page_ids": r.page_ids, "decision": r.decision, "confidence": r.confidence})
    return rows, out


def test_question_set_shape() -> None:
    rows = [json.loads(line) for line in SAMPLE_QUESTIONS.read_text().splitlines() if line.strip()]
    assert len(rows) >= 60
    assert sum(1 for r in rows if r["gold_page_ids"] == []) >= 15
    assert len({r["id"] for r in rows}) == len(rows)


def test_recall_at_5_on_covered_questions(results) -> None:
    rows, out = results
    assert eval_metrics(rows, out)["recall_at_5"] >= 0.9


def test_recall_at_1_and_mrr_after_page_level_fusion(results) -> None:
    rows, out = results  # 156 questions: 0.716 / 0.841 with chunk-level fusion; 0.814 / 0.895 measured now
    m = eval_metrics(rows, out)
    assert m["recall_at_1"] >= 0.79 and m["mrr_at_10"] >= 0.88


def test_uncovered_questions_become_tickets(results) -> None:
    rows, out = results
    m = eval_metrics(rows, out)  # measured: 0.921 and 0.085 (0.868 and 0.203 with the dense_top-only gate)
    assert m["uncovered_ticket_rate"] >= 0.89
    assert m["covered_ticket_rate"] <= 0.09
    assert m["auroc"] >= 0.95  # 0.968 (0.888 before)


def test_short_keyword_questions_are_answered_and_off_topic_ones_ticketed(results) -> None:
    rows, out = results  # q3xx: 1-5 word questions; measured 0.049 covered->ticket (0.488 before), 1.0 uncovered
    short = [(r, o) for r, o in zip(rows, out, strict=True) if r["id"].startswith("q3")]
    m = eval_metrics([r for r, _ in short], [o for _, o in short])
    assert m["covered_ticket_rate"] <= 0.1 and m["uncovered_ticket_rate"] >= 0.9


def test_a_tie_goes_to_the_specific_page_not_the_section_overview(results) -> None:
    rows, out = results
    by_question = {r["question"]: o for r, o in zip(rows, out, strict=True)}
    assert by_question["how do I connect a guest to the wifi?"]["page_ids"][0] == "100104"  # not 100100


def test_every_question_lists_ten_distinct_pages(results) -> None:
    _, out = results
    assert all(len(o["page_ids"]) == len(set(o["page_ids"])) >= 10 for o in out)
