"""`helpdesk eval`'s pure parts: the question-file reader's errors, latency percentiles, the worst misses."""

import json

import numpy as np
import pytest

from helpdesk.evaluation import (
    QuestionFile,
    QuestionFileError,
    check_gold_pages,
    eval_metrics,
    format_misses,
    parse_questions,
    percentile,
    worst_misses,
)


def _line(**row) -> str:
    return json.dumps(row)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
        ('["id", "question"]', "must be a JSON object"),
        ('"just a string"', "must be a JSON object"),
        ("42", "must be a JSON object"),
        ('{"id": "x"}', 'no "question" field'),
        ('{"id": "x", "question": 7}', '"question" must be a string'),
        ('{"question": "vpn?"}', 'no "id" field'),
        ('{"id": "x", "question": "vpn?", "gold_page_ids": "100"}', "must be a list"),
        ('{"id": "x", "question": "vpn?"', "not valid JSON"),
    ],
)
def test_a_bad_line_is_an_exit_2_error_naming_file_and_line(bad_line: str, message: str) -> None:
    text = _line(id="ok", question="vpn?") + "\n\n" + bad_line + "\n"
    with pytest.raises(QuestionFileError) as err:
        parse_questions("qs.jsonl", text)
    assert err.value.exit_code == 2
    assert str(err.value).startswith("qs.jsonl:3: ") and message in str(err.value)


def test_lines_are_split_on_newlines_only_and_blank_lines_keep_their_numbers() -> None:
    text = _line(id="a", question="line\u2028separator inside") + "\n\n" + _line(id="b", question="two") + "\n"
    q = parse_questions("qs.jsonl", text)
    assert [r["id"] for r in q.rows] == ["a", "b"] and q.lines == [1, 3]
    with pytest.raises(QuestionFileError, match="has no questions"):
        parse_questions("qs.jsonl", "\n  \n")


def test_an_unknown_expected_page_names_its_line() -> None:
    q = parse_questions(
        "qs.jsonl",
        _line(id="a", question="x", gold_page_ids=["1"]) + "\n" + _line(id="b", question="y", gold_page_ids=["9"]),
    )
    check_gold_pages(QuestionFile("qs.jsonl", q.rows[:1], q.lines[:1]), {"1", "2"})
    with pytest.raises(QuestionFileError) as err:
        check_gold_pages(q, {"1", "2"})
    assert str(err.value).startswith('qs.jsonl:2: expected page id "9" is not in the index')


def test_percentile_interpolates_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.5
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    assert percentile([3.0, 1.0, 2.0, 10.0], 50) == 2.5
    skewed = [0.4, 9.0, 1.2, 1.1, 250.0, 3.3, 1.0]
    for q in (50, 90, 95, 99):
        assert percentile(skewed, q) == pytest.approx(float(np.percentile(skewed, q)))
    with pytest.raises(ValueError):
        percentile([], 50)


ROWS = [
    {"id": "hit", "question": "q1", "gold_page_ids": ["A"]},
    {"id": "low", "question": "q2", "gold_page_ids": ["B"]},
    {"id": "lost", "question": "q3", "gold_page_ids": ["C"]},
    {"id": "unc-ok", "question": "q4", "gold_page_ids": []},
    {"id": "unc-bad", "question": "q5", "gold_page_ids": []},
    {"id": "shy", "question": "q6", "gold_page_ids": ["A"]},
    {"id": "unscored", "question": "q7"},
]
RESULTS = [
    {"page_ids": ["A", "B"], "decision": "answer", "confidence": 0.9, "latency_ms": 1.0},
    {"page_ids": ["A", "X", "B"], "decision": "answer", "confidence": 0.8, "latency_ms": 2.0},
    {"page_ids": ["A", "B"], "decision": "answer", "confidence": 0.7, "latency_ms": 3.0},
    {"page_ids": ["A"], "decision": "ticket", "confidence": 0.1, "latency_ms": 4.0},
    {"page_ids": ["B", "A"], "decision": "answer", "confidence": 0.95, "latency_ms": 5.0},
    {"page_ids": ["A"], "decision": "ticket", "confidence": 0.2, "latency_ms": 6.0},
    {"page_ids": ["A"], "decision": "answer", "confidence": 0.5, "latency_ms": 100.0},
]


def test_metrics_carry_latency_percentiles_over_every_question() -> None:
    m = eval_metrics(ROWS, RESULTS)
    assert m["latency_p50_ms"] == 4.0 and m["latency_p95_ms"] == pytest.approx(71.8)
    assert m["recall_at_1"] == 0.5 and m["uncovered_ticket_rate"] == 0.5
    assert "latency_p50_ms" not in eval_metrics(
        ROWS, [{k: v for k, v in r.items() if k != "latency_ms"} for r in RESULTS]
    )


def test_worst_misses_come_worst_first_with_their_top_pages() -> None:
    misses = worst_misses(ROWS, RESULTS, 10)
    assert [m["id"] for m in misses] == ["lost", "unc-bad", "low", "shy"]
    lost, unc, low, shy = misses
    assert lost["rank"] is None and lost["why"] == "expected page not retrieved"
    assert unc["why"] == "uncovered question answered" and unc["top_page_ids"] == ["B", "A"]
    assert low["rank"] == 3 and low["why"] == "expected page ranked 3" and low["top_page_ids"] == ["A", "X", "B"]
    assert shy["rank"] == 1 and shy["why"] == "covered question ticketed"
    assert [m["id"] for m in worst_misses(ROWS, RESULTS, 2)] == ["lost", "unc-bad"]


def test_a_covered_question_both_misranked_and_ticketed_says_both() -> None:
    rows = [{"id": "a", "question": "q", "gold_page_ids": ["B"]}]
    res = [{"page_ids": ["A", "B"], "decision": "ticket", "confidence": 0.1}]
    assert worst_misses(rows, res, 1)[0]["why"] == "expected page ranked 2, ticketed"


def test_format_misses_shows_titles_and_marks_the_expected_page() -> None:
    lines = format_misses(worst_misses(ROWS, RESULTS, 3), {"A": "VPN setup", "B": "Printers", "X": "Wi-Fi"})
    text = "\n".join(lines)
    assert lines[0] == "worst misses (3):"
    assert "low: expected page ranked 3" in text and "3. B Printers *" in text and "2. X Wi-Fi" in text
    assert "unc-bad: uncovered question answered" in text and "expected none (uncovered)" in text


def test_cited_correct_is_the_share_of_answered_covered_questions_whose_first_cited_page_is_expected() -> None:
    cited = {0: ["A", "B"], 1: ["X", "B"], 2: ["C"], 4: ["B"], 6: ["A"]}  # answered lines only, as eval writes them
    results = [{**r, "cited_page_ids": cited[i]} if i in cited else r for i, r in enumerate(RESULTS)]
    m = eval_metrics(ROWS, results)
    assert m["cited_correct"] == round(2 / 3, 4)  # hit cites A (right), low cites X (wrong), lost cites C (right)
    assert "cited_correct" not in eval_metrics(ROWS, RESULTS)  # results written before the field have no figure
