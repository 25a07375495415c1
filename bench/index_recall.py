"""The project's own eval (the sample IT space and its question set) on a flat float32 index and on SQ8.

    .venv/bin/python -m bench.index_recall

Same pages, same local embedder (d=256), only the FAISS index type differs; prints `helpdesk eval`'s metrics for
each. The choice of SQ8 must keep recall within 0.01 of flat (docs/decisions/0003).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from helpdesk.cli import eval_metrics
from helpdesk.factory import build_assistant
from helpdesk.settings import Settings
from index_store.local import LocalIndexStore
from ingest.embedders.local import StaticEmbedder
from ingest.pipeline import IngestOptions, run_ingest
from ingest.sources.export import ExportSource

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "examples" / "it-space-questions.jsonl"
EXPORT = ROOT / "examples" / "it-space"


def main() -> None:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    embedder = StaticEmbedder()
    settings = Settings.from_env({})
    results = {}
    for kind in ("flat", "sq8"):
        location = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-")) / "index"
        run_ingest(ExportSource(EXPORT), embedder, LocalIndexStore(location), IngestOptions(index_type=kind))
        assistant = build_assistant(settings, str(location), with_tickets=False, embedder=embedder)
        out = []
        for row in rows:
            r = assistant.ask(row["question"], open_ticket=False)
            out.append({"page_ids": r.page_ids, "confidence": r.confidence, "decision": r.decision})
        results[kind] = eval_metrics(rows, out)
    keys = [k for k in results["flat"] if k not in ("questions", "covered", "uncovered")]
    print(f"{'metric':22} {'flat':>8} {'sq8':>8} {'diff':>8}")
    for key in keys:
        a, b = results["flat"][key], results["sq8"][key]
        print(f"{key:22} {a:8.4f} {b:8.4f} {b - a:+8.4f}")
    print(f"({results['flat']['questions']} questions, {results['flat']['covered']} with gold pages)")


if __name__ == "__main__":
    main()
