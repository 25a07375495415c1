"""The confidence gate over HELPDESK_RETRIEVER=bedrock-kb, on the bundled question set, against the local Retrieve
stand-in (tests/fakes/knowledge_base.py) serving the sample space's chunks as a Confluence data source would.

    .venv/bin/python -m bench.kb_gate

The stand-in ranks by the share of the question's words a chunk contains and scores by that share: it is not a
Bedrock Knowledge Base, whose hybrid ranking and scores will differ. What this measures is the gate's reading of a
Retrieve reply (the knowledge-base score as `dense`, BM25 without idf as the lexical match, docs/configuration.md)
with the embedder-independent fallback weights: the ticket rates on covered and uncovered questions, and recall@5
of the gold pages. Fit the gate against the real knowledge base with `bench.calibrate_confidence`
(docs/deploy.md). Asserts nothing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

KB = "KBBENCH001"


def main() -> None:
    from fakes.knowledge_base import FakeKnowledgeBase, documents_from_chunks

    from assistant.confidence import gate_for
    from assistant.kb_retriever import KnowledgeBaseRetriever
    from index_store.local import LocalIndexStore
    from ingest.embedders.local import StaticEmbedder
    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    location = Path(tempfile.mkdtemp(prefix="kb-gate-")) / "index"
    run_ingest(ExportSource(ROOT / "examples" / "it-space"), StaticEmbedder(), LocalIndexStore(location))
    chunks = LocalIndexStore(location).load().chunks
    rows = [json.loads(x) for x in (ROOT / "examples" / "it-space-questions.jsonl").read_text().splitlines() if x]
    with FakeKnowledgeBase(KB, documents_from_chunks(chunks)) as fake:
        os.environ["AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME"] = fake.url
        retriever, gate = KnowledgeBaseRetriever(KB), gate_for(f"bedrock-kb/{KB}")
        covered_ticket = uncovered_ticket = hits = 0
        covered = [r for r in rows if r["gold_page_ids"]]
        for row in rows:
            result = retriever.retrieve(row["question"])
            ticket = gate.decide(gate.score(result)) == "ticket"
            if row["gold_page_ids"]:
                covered_ticket += ticket
                hits += bool(set(row["gold_page_ids"]) & {p.page_id for p in result.pages[:5]})
            else:
                uncovered_ticket += ticket
    uncovered = len(rows) - len(covered)
    print(f"{len(rows)} questions ({len(covered)} covered, {uncovered} uncovered), Retrieve stand-in, fallback gate")
    print(f"  threshold {gate.threshold}; covered -> ticket {covered_ticket / len(covered):.3f}; "
          f"uncovered -> ticket {uncovered_ticket / uncovered:.3f}; recall@5 {hits / len(covered):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
