"""Page-level recall of dense-only, BM25-only and hybrid retrieval on the bundled question set.

    .venv/bin/python -m bench.retrieval_ablation [--index LOCATION]

Builds the sample index in a temporary folder when LOCATION is not given. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from helpdesk.factory import build_assistant, build_embedder, build_index_store
from helpdesk.settings import Settings
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index")
    args = ap.parse_args()
    settings = Settings.from_env()
    location = args.index
    if not location:
        location = tempfile.mkdtemp(prefix="ablation-")
        run_ingest(
            ExportSource(ROOT / "examples" / "it-space"),
            build_embedder(settings),
            build_index_store(settings, location),
        )
    assistant = build_assistant(settings, location, with_tickets=False)
    bundle, embedder = assistant.retriever.bundle, assistant.retriever.embedder  # type: ignore[attr-defined]

    def pages(order: np.ndarray) -> list[str]:
        seen: list[str] = []
        for i in order:
            pid = bundle.chunks[int(i)].page_id
            if pid not in seen:
                seen.append(pid)
        return seen

    rows = [json.loads(x) for x in (ROOT / "examples" / "it-space-questions.jsonl").read_text().splitlines() if x]
    ranked: dict[str, list[tuple[set[str], list[str]]]] = {"dense only": [], "BM25 only": [], "hybrid (RRF)": []}
    for r in rows:
        if not r["gold_page_ids"]:
            continue
        gold = set(r["gold_page_ids"])
        _, ids = bundle.index.search(embedder.embed_query(r["question"]).reshape(1, -1), len(bundle.chunks))
        ranked["dense only"].append((gold, pages(ids[0])))
        ranked["BM25 only"].append((gold, pages(np.argsort(-bundle.lexical.scores(r["question"]), kind="stable"))))
        ranked["hybrid (RRF)"].append((gold, [p.page_id for p in assistant.retriever.retrieve(r["question"]).pages]))
    for name, runs in ranked.items():
        r1 = np.mean([len(g & set(p[:1])) / len(g) for g, p in runs])
        r5 = np.mean([len(g & set(p[:5])) / len(g) for g, p in runs])
        mrr = np.mean([next((1 / (i + 1) for i, x in enumerate(p[:10]) if x in g), 0.0) for g, p in runs])
        print(f"{name:13} recall@1 {r1:.3f}  recall@5 {r5:.3f}  MRR@10 {mrr:.3f}  ({len(runs)} covered questions)")


if __name__ == "__main__":
    main()
