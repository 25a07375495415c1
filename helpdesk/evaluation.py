"""`helpdesk eval`'s pure parts: reading a question file, the metrics, latency percentiles and the worst misses.

A question file is JSONL, one object a line: `{"id", "question", "gold_page_ids"?}`. `gold_page_ids` lists the
pages that answer a covered question; `[]` marks an uncovered one (it should become a ticket); absent means the line
is only run, not scored. Every problem in the file is an exit-2 error naming the file and the line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.model import Decision
from core.errors import HelpdeskError

DECISION_TICKET = Decision.TICKET


class QuestionFileError(HelpdeskError):
    """The question file cannot be used as it is (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class QuestionFile:
    path: str
    rows: list[dict[str, Any]]
    lines: list[int]  # the line number of each row, for errors about it


def parse_questions(path: str, text: str) -> QuestionFile:
    """The rows of a question file's text (pure); QuestionFileError on the first bad line."""
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for n, line in enumerate(text.split("\n"), 1):  # JSON strings may hold U+2028; only \n ends a line
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        except RecursionError as exc:
            raise QuestionFileError(f"{where}: JSON nested too deeply to be a question line") from exc
        if not isinstance(row, dict):
            kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(row), "a number")
            raise QuestionFileError(f'{where}: each line must be a JSON object with "id" and "question", not {kind}')
        if "question" not in row:
            raise QuestionFileError(f'{where}: the line has no "question" field')
        if not isinstance(row["question"], str):
            raise QuestionFileError(f'{where}: "question" must be a string')
        if "id" not in row:
            raise QuestionFileError(f'{where}: the line has no "id" field')
        gold = row.get("gold_page_ids")
        if gold is not None and not (isinstance(gold, list) and all(isinstance(g, str) for g in gold)):
            raise QuestionFileError(f'{where}: "gold_page_ids" must be a list of page id strings')
        rows.append(row)
        lines.append(n)
    if not rows:
        raise QuestionFileError(f"{path} has no questions")
    return QuestionFile(path, rows, lines)


def read_questions(path: str) -> QuestionFile:
    """Read and check a question file; QuestionFileError (exit 2) naming the file when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise QuestionFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise QuestionFileError(f"{path}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_questions(path, text.removeprefix("\ufeff"))


def check_gold_pages(questions: QuestionFile, known_page_ids: Collection[str]) -> None:
    """Every expected page id must be a page of the index (pure); QuestionFileError naming the first line that
    expects an unknown one."""
    for row, n in zip(questions.rows, questions.lines, strict=True):
        for page_id in row.get("gold_page_ids") or ():
            if page_id not in known_page_ids:
                raise QuestionFileError(
                    f'{questions.path}:{n}: expected page id "{page_id}" is not in the index '
                    f"({len(known_page_ids)} pages): is this the question file for this index?"
                )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks, as numpy's default (pure)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def gold_rank(row: Mapping[str, Any], result: Mapping[str, Any]) -> int | None:
    """1-based rank of the best-placed expected page in the result's pages; None when none was retrieved."""
    gold = set(row.get("gold_page_ids") or ())
    return next((i for i, p in enumerate(result.get("page_ids") or (), 1) if p in gold), None)


def eval_metrics(rows: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """recall@1, recall@5, MRR@10 over lines with gold pages; ticket rates on covered and uncovered lines; AUROC;
    `cited_correct` (of the covered lines answered, the share whose first cited page is expected) when the results
    carry `cited_page_ids`; latency p50/p95 when they carry `latency_ms`."""
    covered = [(r, o) for r, o in zip(rows, results, strict=True) if r.get("gold_page_ids")]
    uncovered = [(r, o) for r, o in zip(rows, results, strict=True) if r.get("gold_page_ids") == []]

    def recall(k: int) -> float:
        return sum(
            len(set(r["gold_page_ids"]) & set(o["page_ids"][:k])) / len(set(r["gold_page_ids"])) for r, o in covered
        ) / len(covered)

    def mrr() -> float:
        total = 0.0
        for r, o in covered:
            ranks = [i for i, p in enumerate(o["page_ids"][:10], 1) if p in set(r["gold_page_ids"])]
            total += 1.0 / ranks[0] if ranks else 0.0
        return total / len(covered)

    out: dict[str, Any] = {"questions": len(rows), "covered": len(covered), "uncovered": len(uncovered)}
    if covered:
        out.update(
            recall_at_1=round(recall(1), 4),
            recall_at_5=round(recall(5), 4),
            mrr_at_10=round(mrr(), 4),
            covered_ticket_rate=round(sum(o["decision"] == DECISION_TICKET for _, o in covered) / len(covered), 4),
        )
        answered = [(r, o) for r, o in covered if o["decision"] != DECISION_TICKET and "cited_page_ids" in o]
        if answered:  # the page an answer quotes first is one the question expects
            right = sum(bool(o["cited_page_ids"]) and o["cited_page_ids"][0] in r["gold_page_ids"] for r, o in answered)
            out["cited_correct"] = round(right / len(answered), 4)
    if uncovered:
        rate = sum(o["decision"] == DECISION_TICKET for _, o in uncovered) / len(uncovered)
        out["uncovered_ticket_rate"] = round(rate, 4)
    if covered and uncovered:
        from assistant.confidence import auroc

        scores = [o["confidence"] for _, o in covered] + [o["confidence"] for _, o in uncovered]
        labels = [True] * len(covered) + [False] * len(uncovered)
        out["auroc"] = round(auroc(scores, labels), 4)
    latencies = [float(o["latency_ms"]) for o in results if isinstance(o.get("latency_ms"), int | float)]
    if latencies:
        out["latency_p50_ms"] = round(percentile(latencies, 50), 2)
        out["latency_p95_ms"] = round(percentile(latencies, 95), 2)
    return out


def worst_misses(rows: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The n worst misses, worst first (pure): covered questions whose expected page was not retrieved at all, then
    uncovered questions that were answered (most confident first), then covered questions by how low their expected
    page ranked, then covered questions ranked first but ticketed. Each with its top pages."""
    misses: list[tuple[tuple[float, float], dict[str, Any]]] = []
    for row, res in zip(rows, results, strict=True):
        gold = row.get("gold_page_ids")
        if gold is None:
            continue
        confidence = float(res.get("confidence") or 0.0)
        decision = str(res.get("decision"))
        pages = list(res.get("page_ids") or ())
        entry: dict[str, Any] = {
            "id": row["id"],
            "question": row["question"],
            "gold_page_ids": list(gold),
            "decision": decision,
            "confidence": round(confidence, 4),
            "top_page_ids": pages[:3],
        }
        if not gold:
            if decision == DECISION_TICKET:
                continue
            entry.update(rank=None, why="uncovered question answered")
            misses.append(((2.0, confidence), entry))
            continue
        rank = gold_rank(row, res)
        ticketed = decision == DECISION_TICKET
        if rank == 1 and not ticketed:
            continue
        if rank is None:
            why, key = "expected page not retrieved", (3.0, confidence)
        elif rank > 1:
            why, key = f"expected page ranked {rank}", (1.0, float(rank))
        else:
            why, key = "covered question ticketed", (0.0, -confidence)
        if ticketed and rank != 1:
            why += ", ticketed"
        entry.update(rank=rank, why=why)
        misses.append((key, entry))
    misses.sort(key=lambda m: m[0], reverse=True)
    return [entry for _, entry in misses[:n]]


def format_misses(misses: Sequence[Mapping[str, Any]], titles: Mapping[str, str]) -> list[str]:
    """Human lines for `eval --misses` (pure): each miss, then its top pages with their titles."""
    lines = [f"worst misses ({len(misses)}):"]
    for m in misses:
        question = " ".join(str(m["question"]).split())
        expected = ", ".join(m["gold_page_ids"]) or "none (uncovered)"
        lines.append(
            f"  {m['id']}: {m['why']} (decision {m['decision']}, confidence {m['confidence']:.2f}); expected {expected}"
        )
        lines.append(f"      {question[:110]}{'…' if len(question) > 110 else ''}")
        for i, page_id in enumerate(m["top_page_ids"], 1):
            mark = " *" if page_id in m["gold_page_ids"] else ""
            lines.append(f"      {i}. {page_id} {titles.get(page_id, '')}{mark}".rstrip())
    return lines
