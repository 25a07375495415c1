"""BM25 column weights (title, heading, body) of index format 2 (FTS5), measured on both question sets.

    .venv/bin/python -m bench.lexical_weights [--weights 1,1,1 2,1,1 ...]

Each set (the sample space and the transfer set) is ingested once with the local embedder into a temporary
folder; then, for each weight triple, every question is retrieved (the hybrid retriever, as `helpdesk ask` does)
and the table shows recall@1, recall@5 and MRR@10 over the covered questions, the same on the questions of one or
two words, and recall@1 of the BM25 list alone. A triple is adopted only if it helps one set without hurting the
other (docs/decisions/0013). Format 3 (tantivy) writes the title tokens twice, the 2,1,1 chosen here
(`index_store.tantivy_index.TITLE_WEIGHT`); this script builds the format-2 FTS5 file beside each index to compare
weights at query time. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETS = {
    "sample": (ROOT / "examples" / "it-space", ROOT / "examples" / "it-space-questions.jsonl"),
    "transfer": (ROOT / "examples" / "transfer-m365", ROOT / "examples" / "transfer-m365-questions.jsonl"),
}
DEFAULT_WEIGHTS = ("1,1,1", "1.5,1,1", "2,1,1", "3,1,1", "2,2,1", "1,2,1", "3,2,1", "1,1,2")


def metrics(retriever, bundle, questions, weights) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from index_store.lexical import tokenize

    bundle.lexical.store.weights = weights
    covered = [q for q in questions if q.get("gold_page_ids")]
    out: dict[str, float] = {}
    for label, subset in (("all", covered), ("short", [q for q in covered if len(tokenize(q["question"])) <= 2])):
        r1 = r5 = mrr = lex1 = 0.0
        for q in subset:
            gold = set(q["gold_page_ids"])
            result = retriever.retrieve(q["question"], k=10)
            ids = [p.page_id for p in result.pages]
            rank = next((i for i, pid in enumerate(ids, 1) if pid in gold), None)
            r1 += rank == 1
            r5 += rank is not None and rank <= 5
            mrr += 1.0 / rank if rank else 0.0
            lex1 += result.lexical_top_page in gold
        n = max(1, len(subset))
        out.update({f"{label}_r1": r1 / n, f"{label}_r5": r5 / n, f"{label}_mrr": mrr / n, f"{label}_lex1": lex1 / n})
        out[f"{label}_n"] = len(subset)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", nargs="*", default=list(DEFAULT_WEIGHTS))
    args = ap.parse_args(argv)
    from assistant.retrieval import HybridRetriever
    from helpdesk.factory import build_embedder
    from helpdesk.settings import Settings
    from index_store.docstore import Docstore, FtsLexical, write_docstore
    from index_store.local import LocalIndexStore
    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    triples = [tuple(float(x) for x in w.split(",")) for w in args.weights]
    with tempfile.TemporaryDirectory(prefix="bench-lexical-weights-") as tmp:
        settings = Settings.from_env({"HELPDESK_HOME": tmp})
        embedder = build_embedder(settings)
        results: dict[str, list[dict[str, float]]] = {}
        for name, (export, qfile) in SETS.items():
            if not export.exists():
                continue
            store = LocalIndexStore(Path(tmp) / name)
            run_ingest(ExportSource(export), embedder, store)
            bundle = store.load()
            fts = Path(tmp) / f"{name}-fts5.sqlite"
            write_docstore(fts, bundle.chunks, (bundle.pages[p] for p in sorted(bundle.pages)), fts5=True)
            bundle.lexical = FtsLexical(Docstore(fts))
            retriever = HybridRetriever(bundle, build_embedder(settings, for_queries=True))
            questions = [json.loads(x) for x in qfile.read_text().splitlines() if x.strip()]
            results[name] = [metrics(retriever, bundle, questions, w) for w in triples]
    for name, rows in results.items():
        n, short = int(rows[0]["all_n"]), int(rows[0]["short_n"])
        print(f"\n{name}: {n} covered questions ({short} of one or two terms)")
        head = f"{'weights':>12} {'R@1':>6} {'R@5':>6} {'MRR':>6} {'BM25 R@1':>9}"
        print(f"{head} | short: {'R@1':>6} {'R@5':>6} {'MRR':>6}")
        for w, r in zip(triples, rows, strict=True):
            print(
                f"{','.join(f'{x:g}' for x in w):>12} {r['all_r1']:6.3f} {r['all_r5']:6.3f} {r['all_mrr']:6.3f} "
                f"{r['all_lex1']:9.3f} |        {r['short_r1']:6.3f} {r['short_r5']:6.3f} {r['short_mrr']:6.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
