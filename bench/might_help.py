"""Where to put the relevance floor of "Pages that might help", measured on both question sets.

    .venv/bin/python -m bench.might_help [--sets sample,transfer] [--floors 0,0.1,...]

For each set it ingests the export into a temporary HELPDESK_HOME (as `helpdesk ingest` does), asks every question
as `helpdesk eval` does (no tickets), and scores each question's sources with `assistant.relevance.source_coverage`
(the weighted share of the question's terms a source has). For each floor it prints:

- expected kept: of the covered questions whose expected page is among the sources, the share where it reaches the
  floor (what a user who got a ticket for a covered question would lose below it);
- ticketed covered kept: the same, over the covered questions that became tickets (those that see the list);
- uncovered none: the share of uncovered questions that list no page at all;
- uncovered listed: pages listed on average for an uncovered question (at floor 0: every source, up to five).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "sample": (ROOT / "examples" / "it-space", ROOT / "examples" / "it-space-questions.jsonl"),
    "transfer": (ROOT / "examples" / "transfer-m365", ROOT / "examples" / "transfer-m365-questions.jsonl"),
}
FLOORS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)


def scored_questions(name: str) -> list[dict[str, Any]]:
    """Each question of the set with its decision, its sources' page ids and their coverage."""
    from assistant.relevance import source_coverage
    from assistant.sources import build_sources
    from helpdesk.factory import build_assistant
    from helpdesk.settings import Settings

    export, questions = SETS[name]
    rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        env = {**os.environ, "HELPDESK_HOME": tmp}
        subprocess.run(
            [sys.executable, "-m", "helpdesk.cli", "ingest", "--source", f"export:{export}"],
            check=True,
            capture_output=True,
            cwd=ROOT,
            env=env,
        )
        settings = Settings.from_env(env)
        assistant = build_assistant(settings, None, with_tickets=False)
        out = []
        for row in rows:
            if "gold_page_ids" not in row:
                continue
            result = assistant.retrieve(row["question"])
            sources = build_sources(result.pages, token_budget=assistant.source_token_budget)
            decision = assistant.ask(row["question"], open_ticket=False).decision
            out.append(
                {
                    "gold": set(row["gold_page_ids"]),
                    "ticket": decision == "ticket",
                    "pages": [s.page_id for s in sources],
                    "coverage": source_coverage(result.query, sources),
                }
            )
    return out


def figures(scored: list[dict[str, Any]], floor: float) -> dict[str, float]:
    def kept(items: list[dict[str, Any]]) -> float:
        with_gold = [q for q in items if q["gold"] & set(q["pages"])]
        if not with_gold:
            return float("nan")
        return sum(
            any(p in q["gold"] and c >= floor for p, c in zip(q["pages"], q["coverage"], strict=True))
            for q in with_gold
        ) / len(with_gold)

    covered = [q for q in scored if q["gold"]]
    uncovered = [q for q in scored if not q["gold"]]
    listed = [sum(c >= floor for c in q["coverage"]) for q in uncovered]
    return {
        "expected kept": kept(covered),
        "ticketed covered kept": kept([q for q in covered if q["ticket"]]),
        "uncovered none": sum(n == 0 for n in listed) / len(listed),
        "uncovered listed": sum(listed) / len(listed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="sample,transfer")
    parser.add_argument("--floors", default=",".join(map(str, FLOORS)))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    floors = [float(f) for f in args.floors.split(",")]
    scored = {name: scored_questions(name) for name in names}
    ticketed = {name: sum(q["ticket"] and bool(q["gold"]) for q in scored[name]) for name in names}
    print("covered questions that became tickets: " + ", ".join(f"{n} {ticketed[n]}" for n in names))
    keys = ("expected kept", "ticketed covered kept", "uncovered none", "uncovered listed")
    print(f"{'floor':>6} " + " ".join(f"{n[:8] + ' ' + k:>34}" for k in keys for n in names))
    for floor in floors:
        cells = [figures(scored[n], floor)[k] for k in keys for n in names]
        print(f"{floor:>6.2f} " + " ".join(f"{c:>34.3f}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
