"""Time of `helpdesk report` / the digest's gap grouping for a week of tickets, with the local embedder.

    .venv/bin/python -m bench.report_gaps [--tickets 200 1000 2000] [--repeat 3]

Generates N ticketed questions (phrasings of 40 uncovered topics, with noise words) and times `build_report`:
embedding each question with the offline model plus average-linkage clustering. Prints seconds (best of
--repeat) and the number of gaps found. Nothing is written and no service is called.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime

from assistant.interactions.base import new_interaction
from assistant.interactions.config import DEFAULT_GAP_SIMILARITY
from assistant.interactions.report import build_report
from ingest.embedders.local import StaticEmbedder

TOPICS = [
    "pension contributions", "parental leave", "expense a train ticket", "parking permit", "desk booking",
    "company car", "gym membership", "salary slip", "holiday allowance", "badge access", "visitor pass",
    "relocation support", "health insurance", "bike to work scheme", "training budget", "home office furniture",
    "mobile phone contract", "printer toner order", "kitchen cleaning", "fire drill", "first aid course",
    "canteen menu", "lost property", "office plants", "meeting room catering", "christmas party",
    "referral bonus", "sick leave", "overtime pay", "travel insurance", "conference tickets", "coffee machine",
    "locker key", "shower access", "dress code", "name badge", "business cards", "mentoring program",
    "volunteering day", "charity matching",
]  # fmt: skip
FRAMES = ["How do I change my {}?", "who handles {} questions", "question about {} please", "Can I get help with {}?"]


def questions(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(FRAMES).format(rng.choice(TOPICS)) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[200, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    embedder = StaticEmbedder()
    now = datetime.now(UTC)
    for n in args.tickets:
        interactions = [
            new_interaction(origin="dm", question=q, decision="ticket", now=now, retention_days=90, ticket_id=f"IT-{i}")
            for i, q in enumerate(questions(n))
        ]
        best, gaps = float("inf"), 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = build_report(interactions, embedder, period_days=7, similarity=DEFAULT_GAP_SIMILARITY)
            best = min(best, time.perf_counter() - started)
            gaps = len(report.gaps)
        print(f"{n:5d} tickets: report in {best:.2f} s, {gaps} gaps (at most 20 listed; {len(TOPICS)} topics)")


if __name__ == "__main__":
    main()
