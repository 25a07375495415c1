"""Per-index self-calibration of the confidence gate against the shipped fixed gate, on both question sets.

    .venv/bin/python -m bench.per_index_calibration [--dump F.json | --load F.json] [--targets 0.05,0.02,...]
        [--sweep]

For each set (the sample space and the transfer set, as `bench.question_sets` names them) it indexes the export
fresh with the settings of the environment (the default transformer embedder; HELPDESK_EMBEDDER=local for the
static model), then:

- makes the index's pseudo-questions and retrieves each with its page in the index and with its page and
  near-duplicates left out, through `assistant.calibration.collect_pseudo` itself (what
  HELPDESK_SELF_CALIBRATION=1 fits on), recording every retrieval so that features outside the gate's can be
  computed from the same results;
- retrieves every labelled question once (as `helpdesk eval` does).

Each row carries the gate's features (`assistant.confidence.features`) and two from docs/decisions/0016:
`top_dense_gap_p10` (the top fused page's cosine minus the 10th page of the dense list) and `overlap5` (pages the
dense and the BM25 lists share in their top 5), both computed with the left-out pages left out.

Gates compared on the labelled questions (AUROC, uncovered->ticket, covered->ticket):

- `shipped`: DEFAULT_WEIGHTS and DEFAULT_THRESHOLD;
- `pseudo fit`: weights and threshold fitted on the index's pseudo-questions (threshold: covered->ticket at most
  the target on them), for the shipped pair and for the 0016 set;
- `shipped weights, pseudo threshold`: the fixed weights, only the threshold taken from the index's
  pseudo-questions;
- `sample-fit ..., pseudo threshold`: weights fitted on the sample's labelled questions (as the shipped weights
  were), the threshold from the index's pseudo-questions. On the sample these rows are in-sample.

Confidence on the labelled questions is computed as `helpdesk eval` computes it (the retrieval logit plus the
extractive answerer's verdict, which also tickets on its own), so the `shipped` row and the shipped pair's
`pseudo fit @0.05` row equal `bench.question_sets` without and with HELPDESK_SELF_CALIBRATION=1. About 16 s.

No labelled question is fitted on, except the sample's in the `sample-fit` rows. recall@1 does not depend on
the gate and is printed once per set. The 0016 features are not in `assistant.confidence.FEATURES`: a gate
using them needs two more `RetrievalResult` fields.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.calibration import FIT_FEATURES, collect_pseudo, fit_raw, predict, threshold_for_covered
from assistant.confidence import DEFAULT_THRESHOLD, DEFAULT_WEIGHTS, SUFFICIENCY_LOGIT, auroc, features
from assistant.retrieval import HybridRetriever, RetrievalResult
from assistant.safety import clean_text
from assistant.sources import build_sources
from bench.question_sets import SETS, collected
from helpdesk.factory import build_assistant, build_embedder, build_index_store
from helpdesk.settings import Settings
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

SET_0016 = ("lexical_match", "log_query_terms", "top_dense_gap_p10", "overlap5")
FEATURE_SETS = {"shipped pair": FIT_FEATURES, "0016 set": SET_0016}
TARGETS = (0.05, 0.02, 0.01, 0.0)
# `--sweep`: more feature sets, each fitted on the pseudo-questions at three L2 strengths (target 0.05)
SWEEP = {
    "shipped pair": FIT_FEATURES,
    "0016 set": SET_0016,
    "0016 set + dense_top": ("dense_top", *SET_0016),
    "shipped pair + top_dense_gap_p10": (*FIT_FEATURES, "top_dense_gap_p10"),
    "shipped pair + overlap5": (*FIT_FEATURES, "overlap5"),
}


def page_lists(bundle: Any, embedder: Any, query: str, exclude: Collection[str], depth: int = 200) -> tuple:
    """Distinct pages in dense order (with each page's best cosine) and in BM25 order, left-out pages removed."""
    chunks = bundle.chunks
    left = sum(1 for c in chunks if c.page_id in exclude) if exclude else 0
    n = min(len(chunks), depth + left)
    qvec = np.asarray(embedder.embed_query(query), dtype=np.float32).reshape(1, -1)
    scores, ids = bundle.index.search(qvec, n)
    dense: dict[str, float] = {}
    for i, s in zip(ids[0], scores[0], strict=True):
        if i >= 0 and chunks[int(i)].page_id not in exclude:
            dense.setdefault(chunks[int(i)].page_id, float(s))
    lexical: list[str] = []
    for row, _ in bundle.lexical.search(query, n):
        pid = chunks[row].page_id
        if pid not in exclude and pid not in lexical:
            lexical.append(pid)
    return dense, lexical


def row_features(
    result: RetrievalResult, bundle: Any, embedder: Any, exclude: Collection[str] = ()
) -> dict[str, float]:
    out = features(result)
    dense, lexical = page_lists(bundle, embedder, result.query, exclude)
    dp = list(dense.values())
    top = result.pages[0].dense if result.pages else 0.0
    out["top_dense_gap_p10"] = float(top - dp[min(9, len(dp) - 1)]) if dp else 0.0
    out["overlap5"] = len(set(list(dense)[:5]) & set(lexical[:5])) / 5.0
    return out


class _Recording:
    """A HybridRetriever that keeps every (query, exclude, result) it returns."""

    def __init__(self, bundle: Any, embedder: Any) -> None:
        self.inner = HybridRetriever(bundle, embedder)
        self.bundle, self.embedder = bundle, embedder
        self.log: list[tuple[str, frozenset[str], RetrievalResult]] = []

    def retrieve(self, query: str, k: int = 10, *, exclude: Collection[str] = ()) -> RetrievalResult:
        result = self.inner.retrieve(query, k, exclude=exclude)
        self.log.append((query, frozenset(exclude), result))
        return result


def collect(name: str, settings: Settings, tmp: Path) -> dict[str, Any]:
    export, questions = SETS[name]
    location = str(tmp / name)
    store = build_index_store(settings, location)
    embedder = build_embedder(settings)
    run_ingest(ExportSource(export), embedder, store)
    bundle = store.load(with_embeddings=True)
    recorders: list[_Recording] = []

    def factory(b: Any, e: Any) -> _Recording:
        recorders.append(_Recording(b, e))
        return recorders[-1]

    collected = collect_pseudo(bundle, embedder, retriever_factory=factory)
    rec = recorders[0]
    covered, uncovered = [], []
    for i, (_, exclude, result) in enumerate(rec.log):
        if exclude:
            prev = rec.log[i - 1]
            covered.append(row_features(prev[2], bundle, rec.embedder))
            uncovered.append(row_features(result, bundle, rec.embedder, exclude))
    assert len(covered) == collected.used and covered[0]["dense_top"] == collected.covered[0]["dense_top"]
    assistant = build_assistant(settings, location, with_tickets=False, embedder=embedder)
    real = []
    hits = 0
    for line in questions.read_text().splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        gold = q.get("gold_page_ids")
        if gold is None:
            continue
        result = assistant.retrieve(q["question"])
        answer = assistant.answerer.answer(
            q["question"], build_sources(result.pages, token_budget=assistant.source_token_budget), ()
        )
        if gold and result.pages and result.pages[0].page_id in gold:
            hits += 1 / len(set(gold))
        verdict = {"covered": bool(gold), "sufficient": answer.sufficient, "empty": not clean_text(answer.text).strip()}
        real.append({**verdict, **row_features(result, assistant.retriever.bundle, embedder)})
    n_cov = sum(r["covered"] for r in real)
    return {
        "pseudo_covered": covered,
        "pseudo_uncovered": uncovered,
        "real": real,
        "recall_at_1": hits / n_cov,
        "pseudo_questions": collected.questions,
    }


def _x(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> np.ndarray:
    return np.array([[float(r[n]) for n in names] for r in rows], dtype=float)


def answered(w: np.ndarray, names: Sequence[str], real: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The gate's confidence on the labelled questions as `helpdesk eval` computes it: the retrieval logit plus
    the answerer's verdict (SUFFICIENCY_LOGIT), rounded to 4 decimals."""
    z = _x(real, names) @ w[:-1] + w[-1]
    z = z + np.array([0.0 if r["sufficient"] is None else SUFFICIENCY_LOGIT[r["sufficient"]] for r in real])
    return np.round(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))), 4)


def scored(p: np.ndarray, real: Sequence[Mapping[str, Any]], t: float) -> tuple[float, float, float]:
    """(AUROC, uncovered->ticket, covered->ticket) at threshold t; a "not sufficient" verdict or an empty answer
    is a ticket whatever the score, as in `Assistant.ask`."""
    y = np.array([bool(r["covered"]) for r in real])
    forced = np.array([r["sufficient"] is False or r["empty"] for r in real])
    ticket = forced | (p < t)
    return auroc(list(p), list(y)), float(np.mean(ticket[~y])), float(np.mean(ticket[y]))


def gates(
    data: Mapping[str, Any], targets: Sequence[float], tuning: Sequence[Mapping[str, Any]]
) -> list[tuple[str, tuple[float, float, float], float]]:
    """(label, (AUROC, uncovered->ticket, covered->ticket) on the labelled questions, threshold) per gate.
    `tuning`: the sample's labelled rows, the only labelled questions any weights are fitted on."""
    real = data["real"]
    pc, pu = data["pseudo_covered"], data["pseudo_uncovered"]
    out = []
    shipped = np.array([DEFAULT_WEIGHTS[n] for n in FIT_FEATURES] + [DEFAULT_WEIGHTS["bias"]])
    p_real = answered(shipped, FIT_FEATURES, real)
    out.append(("shipped", scored(p_real, real, DEFAULT_THRESHOLD), DEFAULT_THRESHOLD))
    p_pseudo = predict(shipped, _x(pc, FIT_FEATURES))
    for target in targets:
        t = threshold_for_covered(p_pseudo, target)
        out.append((f"shipped weights, pseudo threshold @{target}", scored(p_real, real, t), t))
    for label, names in FEATURE_SETS.items():
        xp = np.vstack([_x(pc, names), _x(pu, names)])
        yp = np.r_[np.ones(len(pc)), np.zeros(len(pu))]
        w = fit_raw(xp, yp)
        p_real = answered(w, names, real)
        for target in targets:
            t = threshold_for_covered(predict(w, _x(pc, names)), target)
            out.append((f"pseudo fit, {label} @{target}", scored(p_real, real, t), t))
    for label, names in FEATURE_SETS.items():
        w = fit_raw(_x(tuning, names), np.array([1.0 if r["covered"] else 0.0 for r in tuning]))
        p_real = answered(w, names, real)
        p_pseudo = predict(w, _x(pc, names))
        for target in targets:
            t = threshold_for_covered(p_pseudo, target)
            out.append((f"sample-fit {label}, pseudo threshold @{target}", scored(p_real, real, t), t))
    return out


def sweep(data: Mapping[str, Any], target: float = 0.05) -> list[str]:
    lines = [f"\nsweep: pseudo fit at covered->ticket <= {target} on the pseudo-questions, labelled questions scored"]
    for label, names in SWEEP.items():
        for l2 in (0.1, 1.0, 10.0):
            cells = []
            for name, d in data.items():
                pc, pu, real = d["pseudo_covered"], d["pseudo_uncovered"], d["real"]
                xp = np.vstack([_x(pc, names), _x(pu, names)])
                w = fit_raw(xp, np.r_[np.ones(len(pc)), np.zeros(len(pu))], l2)
                t = threshold_for_covered(predict(w, _x(pc, names)), target)
                a, u, c = scored(answered(w, names, real), real, t)
                cells.append(f"{name} {a:.3f} / {u:.3f} / {c:.3f}")
            lines.append(f"  {label:34} L2 {l2:<5} " + "   ".join(cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", help="write every row's features to this JSON file")
    ap.add_argument("--load", help="read the rows from a --dump file instead of indexing and retrieving")
    ap.add_argument("--sweep", action="store_true", help="also fit more feature sets and L2 strengths")
    ap.add_argument("--targets", default=",".join(str(t) for t in TARGETS), help="covered->ticket targets")
    args = ap.parse_args(argv)
    data = collected(collect, load=args.load, dump=args.dump, prefix="per-index-cal-")
    targets = [float(t) for t in args.targets.split(",") if t.strip()]
    results = {name: gates(d, targets, data["sample"]["real"]) for name, d in data.items()}
    names = list(results)
    print("labelled questions: AUROC / uncovered->ticket / covered->ticket (threshold)")
    for name in names:
        d = data[name]
        print(
            f"  {name}: recall@1 {d['recall_at_1']:.3f}; {len(d['pseudo_covered'])} pseudo pairs used of "
            f"{d['pseudo_questions']} made"
        )
    print(f"{'gate':46}" + "".join(f"{n:>32}" for n in names))
    for i, (label, _, _) in enumerate(results[names[0]]):
        cells = []
        for n in names:
            (a, u, c), t = results[n][i][1], results[n][i][2]
            cells.append(f"{a:.3f} / {u:.3f} / {c:.3f} ({t:.4f})")
        print(f"{label:46}" + "".join(f"{c:>32}" for c in cells))
    if args.sweep:
        print("\n".join(sweep(data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
