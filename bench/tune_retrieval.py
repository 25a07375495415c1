"""Retrieval tuning on the bundled sample space: recall@1, recall@5 and MRR@10 for each change, with guards.

    .venv/bin/python -m bench.tune_retrieval [--quick]

Prints, on the 77 covered questions of examples/it-space-questions.jsonl (same metric code as `helpdesk eval`):

1. references: dense only, BM25 only;
2. the foundation's setting (chunk-level RRF, k=60, 180/40-word chunks, 50 candidates) and the shipped one;
3. one change at a time from the shipped setting: fusion level, RRF k, dense:lexical weight, candidates, chunking;
4. overfitting guards: (a) 5-fold selection: the best of the whole grid by MRR on 4 folds, scored on the 5th,
   against the shipped setting scored on the same folds; (b) the q1xx and q2xx batches of the set scored apart
   (written at different times; a change that only helps one batch is suspect).

Each recall figure moves in steps of 1/77 = 0.013, so differences under ~0.03 are one or two questions.
Takes about a minute (one index per chunking setting; the local embedder is fast). --quick skips the chunk grid.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.retrieval import HybridRetriever
from helpdesk.cli import eval_metrics
from index_store.format import IndexBundle
from index_store.local import LocalIndexStore
from ingest.embedders.local import StaticEmbedder
from ingest.pipeline import IngestOptions, run_ingest
from ingest.sources.export import ExportSource

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "examples" / "it-space-questions.jsonl"
EXPORT = ROOT / "examples" / "it-space"


@dataclass(frozen=True)
class Config:
    max_words: int = 180
    min_words: int = 40
    fusion: str = "page"
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 50

    def label(self) -> str:
        return (
            f"chunks {self.max_words}/{self.min_words}, {self.fusion} RRF k={self.rrf_k}, "
            f"dense:lexical {self.dense_weight:g}:{self.lexical_weight:g}, candidates {self.candidates}"
        )


BEFORE = Config(fusion="chunk")
SHIPPED = Config()


class Bench:
    def __init__(self) -> None:
        self.embedder = StaticEmbedder()
        self.rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
        self.covered = [r for r in self.rows if r["gold_page_ids"]]
        self.bundles: dict[tuple[int, int], IndexBundle] = {}
        self.cache: dict[Config, list[list[str]]] = {}

    def bundle(self, max_words: int, min_words: int) -> IndexBundle:
        key = (max_words, min_words)
        if key not in self.bundles:
            store = LocalIndexStore(tempfile.mkdtemp(prefix="tune-"))
            run_ingest(
                ExportSource(EXPORT), self.embedder, store, IngestOptions(max_words=max_words, min_words=min_words)
            )
            self.bundles[key] = store.load()
        return self.bundles[key]

    def ranked(self, cfg: Config) -> list[list[str]]:
        if cfg not in self.cache:
            retriever = HybridRetriever(
                self.bundle(cfg.max_words, cfg.min_words),
                self.embedder,
                candidates=cfg.candidates,
                rrf_k=cfg.rrf_k,
                dense_weight=cfg.dense_weight,
                lexical_weight=cfg.lexical_weight,
                fusion=cfg.fusion,
            )
            self.cache[cfg] = [[p.page_id for p in retriever.retrieve(r["question"]).pages] for r in self.covered]
        return self.cache[cfg]

    def metrics(self, cfg: Config, subset: Sequence[int] | None = None) -> dict[str, float]:
        idx = range(len(self.covered)) if subset is None else subset
        ranked = self.ranked(cfg)
        rows = [self.covered[i] for i in idx]
        out = [{"page_ids": ranked[i], "decision": "answer", "confidence": 1.0} for i in idx]
        m = eval_metrics(rows, out)
        return {"r1": m["recall_at_1"], "r5": m["recall_at_5"], "mrr": m["mrr_at_10"]}


def fmt(m: dict[str, float]) -> str:
    return f"recall@1 {m['r1']:.3f}  recall@5 {m['r5']:.3f}  MRR@10 {m['mrr']:.3f}"


def dense_only(b: Bench) -> dict[str, float]:
    return b.metrics(replace(SHIPPED, lexical_weight=1e-9))


def lexical_only(b: Bench) -> dict[str, float]:
    return b.metrics(replace(SHIPPED, dense_weight=1e-9))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the chunking grid")
    args = ap.parse_args()
    b = Bench()
    print(f"{len(b.covered)} covered questions; sample space {EXPORT.relative_to(ROOT)}\n")
    print(f"  dense only (lexical weight ~0)       {fmt(dense_only(b))}")
    print(f"  BM25 only (dense weight ~0)          {fmt(lexical_only(b))}")
    print(f"  before: {BEFORE.label()}\n          {fmt(b.metrics(BEFORE))}")
    print(f"  after:  {SHIPPED.label()}\n          {fmt(b.metrics(SHIPPED))}")

    print("\none change at a time from the shipped setting:")
    variants: list[tuple[str, Config]] = [("fusion chunk", replace(SHIPPED, fusion="chunk"))]
    variants += [(f"RRF k={k}", replace(SHIPPED, rrf_k=k)) for k in (5, 10, 30, 100)]
    variants += [(f"dense:lexical {w:g}:1", replace(SHIPPED, dense_weight=w)) for w in (0.5, 0.75, 1.5, 2.0)]
    variants += [(f"candidates {c}", replace(SHIPPED, candidates=c)) for c in (20, 100, 200)]
    chunkings = [(mw, mn) for mw in (100, 140, 180, 250, 350) for mn in (20, 40, 80)]
    if not args.quick:
        variants += [(f"chunks {mw}/{mn}", replace(SHIPPED, max_words=mw, min_words=mn)) for mw, mn in chunkings]
    for name, cfg in variants:
        if cfg == SHIPPED:
            continue
        extra = f"  ({len(b.bundle(cfg.max_words, cfg.min_words).chunks)} chunks)" if name.startswith("chunks") else ""
        print(f"  {name:22} {fmt(b.metrics(cfg))}{extra}")

    print("\nguard (a): 5-fold selection over the grid (best MRR on 4 folds, scored on the 5th), 5 shuffles")
    grid = [SHIPPED, BEFORE] + [cfg for _, cfg in variants]
    grid += [
        replace(SHIPPED, fusion=f, rrf_k=k, dense_weight=w)
        for f, k, w in itertools.product(("page", "chunk"), (10, 30, 60), (0.75, 1.0, 1.5))
    ]
    n = len(b.covered)
    sel: list[dict[str, float]] = []
    ship: list[dict[str, float]] = []
    picks: dict[str, int] = {}
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(n)
        for fold in np.array_split(order, 5):
            train = [int(i) for i in np.setdiff1d(order, fold)]
            test = [int(i) for i in fold]
            best = max(grid, key=lambda c: (b.metrics(c, train)["mrr"], c == SHIPPED))
            picks[best.label()] = picks.get(best.label(), 0) + 1
            sel.append(b.metrics(best, test))
            ship.append(b.metrics(SHIPPED, test))
    print(f"  selected-on-train, scored held out: {fmt(_mean(sel))}")
    print(f"  shipped setting, same held-out folds: {fmt(_mean(ship))}")
    for label, count in sorted(picks.items(), key=lambda kv: -kv[1])[:4]:
        print(f"    picked {count:2}x: {label}")

    print("\nguard (b): the two batches of the question set apart")
    for prefix in ("q1", "q2"):
        subset = [i for i, r in enumerate(b.covered) if str(r["id"]).startswith(prefix)]
        print(f"  {prefix}xx ({len(subset)} covered)  before {fmt(b.metrics(BEFORE, subset))}")
        print(f"  {'':17}after  {fmt(b.metrics(SHIPPED, subset))}")


def _mean(ms: Sequence[dict[str, Any]]) -> dict[str, float]:
    return {k: float(np.mean([m[k] for m in ms])) for k in ms[0]}


if __name__ == "__main__":
    main()
