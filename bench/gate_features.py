"""Which retrieval features separate covered from uncovered questions on both question sets, and transfer.

    .venv/bin/python -m bench.gate_features [--l2 1.0] [--target-covered 0.05] [--dump F.json | --load F.json]
        [--sets name,name,... ...] [--search]

`--dump` keeps every question's features (one retrieval per question) so `--load` re-runs the comparison without
indexing or retrieving again; `--sets` adds feature sets to the candidates; `--search` also tries the shipped pair
plus every one or two candidates (`search`).

Both sets (the sample space and the transfer set, as `bench.question_sets` names them) are indexed fresh in a
temporary folder with the settings of the environment (the default transformer embedder; HELPDESK_EMBEDDER=local for
the static model), and every question is
retrieved once (k=10). From that one retrieval the script computes the gate's features (`assistant.confidence`)
and a few exploratory ones that need the index (each page list's own ranking, each query term's IDF).

It prints, per set, the AUROC of each feature alone, then for each candidate feature set:

- `cv`: 10-fold cross-validated on the set itself (weights and threshold chosen on 9 folds, rates on the 10th),
  mean of 5 shuffles: AUROC, covered->ticket, uncovered->ticket;
- `A->B`: fitted on one set (weights, and the threshold that keeps covered->ticket <= --target-covered there),
  tested on the other: AUROC, covered->ticket, uncovered->ticket with the transferred threshold, and uncovered->
  ticket at the test set's own threshold for that target (what the features can separate there);
- `pooled`: fitted on both sets together, the rates on each set with the pooled threshold (what would ship), the
  AUROC on each set, and the `joint threshold`: the one threshold of that fit that keeps the sample at today's
  figures (SAMPLE_COVERED, SAMPLE_UNCOVERED) and the transfer set within the target, if there is one.

The cross-set rows are the estimate of how a gate fitted here does on a knowledge base nobody here wrote.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from assistant.calibration import fit_raw, predict, threshold_for_covered
from assistant.confidence import FEATURES, auroc, features
from assistant.retrieval import RetrievalResult
from bench.question_sets import SETS, collected
from helpdesk.factory import build_assistant, build_embedder, build_index_store
from helpdesk.settings import Settings
from index_store.lexical import tokenize
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("dense_top", "lexical_match"),  # the shipped DEFAULT_WEIGHTS (the static model)
    ("dense_top", "dense_margin", "lexical_match", "agreement", "fused_top"),  # the shipped ONNX_WEIGHTS
    FEATURES,
    ("lexical_match", "log_query_terms", "top_dense_gap_p10"),
    ("lexical_match", "log_query_terms", "top_dense_gap_p10", "overlap5"),
    ("dense_top", "lexical_match", "top_dense_gap_p10"),
    ("dense_top", "lexical_match", "overlap5"),
    ("dense_top", "lexical_match", "dense_top_rel"),
    ("dense_top", "lexical_match", "dense_top_rel", "overlap5"),
    ("dense_top", "dense_margin", "lexical_match", "dense_top_rel"),
    ("dense_top", "lexical_match", "idf_known", "top_dense_gap_p10", "log_query_terms"),
    (
        "dense_top",
        "lexical_match",
        "top_dense_gap_p10",
        "idf_known",
        "lex_ratio_p5",
        "overlap5",
        "log_query_terms",
        "idf_cov_top",
        "lexical_coverage",
    ),
)
# Today's sample figures with the shipped gate (bench.question_sets): a change must keep both on the sample
SAMPLE_COVERED, SAMPLE_UNCOVERED = 0.085, 0.947


def page_terms(result: RetrievalResult, i: int) -> set[str]:
    page = result.pages[i]
    text = " ".join(" ".join((*h.chunk.breadcrumb, h.chunk.title, h.chunk.heading, h.chunk.body)) for h in page.chunks)
    return set(tokenize(text))


def term_idf(lexical: Any, query: str) -> tuple[dict[str, float], set[str]]:
    """Each distinct query term's weight: the BM25 ceiling of the term alone (idf * (k1 + 1); unknown terms get the
    largest idf), so only ratios of these are used; and the terms the index knows."""
    from index_store.lexical import _TOKEN

    out: dict[str, float] = {}
    known: set[str] = set()
    for word in _TOKEN.findall(query.lower()):
        terms = tokenize(word)
        if terms and terms[0] not in out:
            out[terms[0]] = float(lexical.max_score(word))
            if lexical.query_terms_known(word)[0]:
                known.add(terms[0])
    return out, known


def page_rankings(bundle: Any, embedder: Any, query: str, depth: int = 200) -> dict[str, Any]:
    """Distinct pages in dense order and in BM25 order (the two lists retrieval fuses), with each page's best
    score in each list, and the chunk-level dense scores."""
    chunks = bundle.chunks
    qvec = np.asarray(embedder.embed_query(query), dtype=np.float32).reshape(1, -1)
    scores, ids = bundle.index.search(qvec, min(depth, len(chunks)))
    rows = [int(i) for i in ids[0] if i >= 0]
    dense: dict[str, float] = {}
    for r, sc in zip(rows, scores[0], strict=False):
        dense.setdefault(chunks[r].page_id, float(sc))
    lexical: dict[str, float] = {}
    for r, sc in bundle.lexical.search(query, depth):
        lexical.setdefault(chunks[r].page_id, float(sc))
    return {
        "dense": dense,
        "lexical": lexical,
        "dense_chunks": [float(v) for v in scores[0][: len(rows)]],
        "ceiling": float(bundle.lexical.max_score(query)),
    }


def explore(result: RetrievalResult, idf: Mapping[str, float], vocab: set[str], lists: Mapping[str, Any]) -> dict:
    """Exploratory candidates, mostly scale-free (ratios, ranks, agreement, coverage). With w(t) a query term's
    IDF weight and "page text" the retrieved chunks of a page (breadcrumb, title, heading, body):

    - idf_known: share of the query's IDF mass in terms the index knows; idf_cov_top: share found in the top
      page's text (idf_cov_top_known: of the known terms' mass); idf_cov_best3: the best of the top 3 pages;
      cov_top_vs_best / cov_top_minus_second / cov_top_in_union: the top page's share against the other top-10
      pages' (ratio, difference, over the mass any of them has); rare_in_top / rare_known_in_top: the rarest
      (known) term is in the top page; missing_terms_top: how many terms it lacks;
    - dense_z, dense_gap_mean: the best cosine of the top 10 pages against their mean (z-score, difference);
      dense_top_rel: the top page's cosine over the best cosine of the top 10; dense_z50 / dense_gap50: the best
      chunk cosine against the first 50 chunks (z-score, minus the 50th); dense_gap_p5 / dense_gap_p10 /
      dense_z_p20: the first page of the dense list against its 5th / 10th / first 20; top_dense_gap_p10: the
      top fused page's cosine minus the 10th page of the dense list;
    - lex_standout / lex_top_rel: BM25 of the top 10 pages, best against second, top page against best;
      lex_top_match: the top page's BM25 over the query's ceiling; lex_ratio_p2 / lex_ratio_p5: log of the BM25
      list's first page over its 2nd / 5th; lex_top_vs_p10: the top page's BM25 over the 10th page's;
    - top_rank_worst: -log of the top page's worse rank in the two lists; top_both3: it is in both lists' top 3;
      overlap3 / overlap5: pages the two lists share in their top 3 / 5; fused_margin: (s1 - s2) / s1 of the
      fused scores.
    """
    out: dict[str, float] = {}
    pages = result.pages
    total = sum(idf.values()) or 1.0
    known = {t: w for t, w in idf.items() if t in vocab}
    out["idf_known"] = sum(known.values()) / total if idf else 0.0
    if not pages:
        return {**out, **dict.fromkeys(EXPLORED, 0.0)}
    covs = []
    for i in range(min(len(pages), 10)):
        terms = page_terms(result, i)
        covs.append(sum(w for t, w in idf.items() if t in terms) / total if idf else 0.0)
    top_terms = page_terms(result, 0)
    out["idf_cov_top"] = covs[0]
    kt = sum(known.values())
    out["idf_cov_top_known"] = sum(w for t, w in known.items() if t in top_terms) / kt if kt else 0.0
    out["idf_cov_best3"] = max(covs[:3])
    out["cov_top_vs_best"] = covs[0] / max(covs) if max(covs) > 0 else 0.0
    out["cov_top_minus_second"] = covs[0] - (max(covs[1:]) if len(covs) > 1 else 0.0)
    rare_known = max(known, key=known.get) if known else None
    out["rare_known_in_top"] = 1.0 if rare_known and rare_known in top_terms else 0.0
    rare = max(idf, key=idf.get) if idf else None
    out["rare_in_top"] = 1.0 if rare and rare in top_terms else 0.0
    n_unc = sum(1 for t in idf if t not in top_terms)
    out["missing_terms_top"] = float(n_unc)
    d = np.array([p.dense for p in pages[:10]], dtype=float)
    sd = float(d.std()) or 1e-6
    out["dense_z"] = float((d.max() - d.mean()) / sd)
    out["dense_gap_mean"] = float(d.max() - d[1:].mean()) if len(d) > 1 else 0.0
    out["dense_top_rel"] = float(pages[0].dense / d.max()) if d.max() > 0 else 0.0
    lx = np.array([p.lexical for p in pages[:10]], dtype=float)
    srt = np.sort(lx)[::-1]
    out["lex_standout"] = float((srt[0] - srt[1]) / srt[0]) if len(srt) > 1 and srt[0] > 0 else 0.0
    out["lex_top_rel"] = float(pages[0].lexical / srt[0]) if srt[0] > 0 else 0.0
    dense, lexical = list(lists["dense"]), list(lists["lexical"])
    dc = np.array(lists["dense_chunks"])
    out["dense_z50"] = float((dc[0] - dc[:50].mean()) / (dc[:50].std() or 1e-6))
    out["dense_gap50"] = float(dc[0] - dc[min(49, len(dc) - 1)])
    dp = np.array(list(lists["dense"].values()))
    out["dense_gap_p10"] = float(dp[0] - dp[min(9, len(dp) - 1)])
    out["dense_gap_p5"] = float(dp[0] - dp[min(4, len(dp) - 1)])
    out["dense_z_p20"] = float((dp[0] - dp[:20].mean()) / (dp[:20].std() or 1e-6))
    out["top_dense_gap_p10"] = float(pages[0].dense - dp[min(9, len(dp) - 1)])
    lp = np.array(list(lists["lexical"].values()) or [0.0])
    out["lex_ratio_p2"] = float(np.log(lp[0] / lp[1])) if len(lp) > 1 and lp[1] > 0 else 0.0
    out["lex_ratio_p5"] = float(np.log(lp[0] / lp[min(4, len(lp) - 1)])) if len(lp) > 1 and lp[-1] > 0 else 0.0
    out["lex_top_match"] = float(pages[0].lexical / lists["ceiling"]) if lists["ceiling"] > 0 else 0.0
    out["lex_top_vs_p10"] = (
        float(pages[0].lexical / lp[min(9, len(lp) - 1)]) if len(lp) > 1 and lp[min(9, len(lp) - 1)] > 0 else 1.0
    )
    union: set[str] = set()
    for i in range(min(len(pages), 10)):
        union |= page_terms(result, i)
    um = sum(w for t, w in idf.items() if t in union)
    out["cov_top_in_union"] = sum(w for t, w in idf.items() if t in top_terms) / um if um else 0.0
    top = pages[0].page_id
    dr = dense.index(top) + 1 if top in dense else 100
    lr = lexical.index(top) + 1 if top in lexical else 100
    out["top_rank_worst"] = -math.log(max(dr, lr))
    out["top_both3"] = 1.0 if max(dr, lr) <= 3 else 0.0
    out["overlap3"] = len(set(dense[:3]) & set(lexical[:3])) / 3.0
    out["overlap5"] = len(set(dense[:5]) & set(lexical[:5])) / 5.0
    s = [p.score for p in pages]
    out["fused_margin"] = float((s[0] - s[1]) / s[0]) if len(s) > 1 and s[0] > 0 else 0.0
    return out


EXPLORED = (
    "idf_cov_top",
    "idf_cov_top_known",
    "idf_cov_best3",
    "cov_top_vs_best",
    "cov_top_minus_second",
    "rare_known_in_top",
    "rare_in_top",
    "missing_terms_top",
    "dense_z",
    "dense_gap_mean",
    "dense_top_rel",
    "lex_standout",
    "lex_top_rel",
    "lex_top_match",
    "dense_z50",
    "dense_gap50",
    "dense_gap_p10",
    "dense_gap_p5",
    "dense_z_p20",
    "top_dense_gap_p10",
    "lex_ratio_p2",
    "lex_ratio_p5",
    "lex_top_vs_p10",
    "cov_top_in_union",
    "top_rank_worst",
    "top_both3",
    "overlap3",
    "overlap5",
    "fused_margin",
)


def collect(name: str, settings: Settings, tmp: Path) -> list[dict[str, Any]]:
    """One retrieval per question of a set; each row: id, covered (bool) and every feature."""
    export, questions = SETS[name]
    location = str(tmp / name)
    store = build_index_store(settings, location)
    embedder = build_embedder(settings)
    run_ingest(ExportSource(export), embedder, store)
    assistant = build_assistant(settings, location, with_tickets=False, embedder=embedder)
    bundle = assistant.retriever.bundle
    rows = []
    for line in questions.read_text().splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        if q.get("gold_page_ids") is None:
            continue
        result = assistant.retrieve(q["question"])
        idf, vocab = term_idf(bundle.lexical, result.query)
        lists = page_rankings(bundle, embedder, result.query)
        row = {"id": q["id"], "covered": bool(q["gold_page_ids"])}
        row.update(features(result))
        row.update(explore(result, idf, vocab, lists))
        rows.append(row)
    return rows


def matrix(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[float(r[n]) for n in names] for r in rows], dtype=float)
    y = np.array([1.0 if r["covered"] else 0.0 for r in rows])
    return x, y


def ticket_rates(p: np.ndarray, y: np.ndarray, t: float) -> tuple[float, float]:
    p = np.round(p, 4)
    return float(np.mean(p[y == 1] < t)), float(np.mean(p[y == 0] < t))


def fit(x: np.ndarray, y: np.ndarray, l2: float, target: float) -> tuple[np.ndarray, float]:
    w = fit_raw(x, y, l2)
    return w, threshold_for_covered(predict(w, x)[y == 1], target)


def cv(x: np.ndarray, y: np.ndarray, l2: float, target: float, shuffles: int = 5) -> tuple[float, float, float]:
    aucs, cov, unc = [], [], []
    for seed in range(shuffles):
        order = np.random.default_rng(seed).permutation(len(y))
        p = np.zeros(len(y))
        ticket = np.zeros(len(y), dtype=bool)
        for fold in np.array_split(order, 10):
            train = np.setdiff1d(order, fold)
            w, t = fit(x[train], y[train], l2, target)
            p[fold] = predict(w, x[fold])
            ticket[fold] = np.round(p[fold], 4) < t
        aucs.append(auroc(list(p), list(y.astype(bool))))
        cov.append(float(ticket[y == 1].mean()))
        unc.append(float(ticket[y == 0].mean()))
    return float(np.mean(aucs)), float(np.mean(cov)), float(np.mean(unc))


def cross(
    train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], l2: float, target: float
) -> tuple[float, float, float, float]:
    """(AUROC, covered->ticket, uncovered->ticket with the train threshold, uncovered->ticket at the test set's
    own threshold for the target)."""
    w, t = fit(*train, l2, target)
    x, y = test
    p = predict(w, x)
    cov, unc = ticket_rates(p, y, t)
    own = threshold_for_covered(p[y == 1], target)
    return auroc(list(p), list(y.astype(bool))), cov, unc, ticket_rates(p, y, own)[1]


def joint_threshold(
    pa: np.ndarray, ya: np.ndarray, pb: np.ndarray, yb: np.ndarray, target: float
) -> tuple[float, float, float, float, float] | None:
    """The one threshold of a pooled fit that keeps the first set at today's figures (covered->ticket at most
    SAMPLE_COVERED, uncovered->ticket at least SAMPLE_UNCOVERED) and the second within `target`, ticketing the
    most uncovered questions of the second: (threshold, cov a, unc a, cov b, unc b), None when there is none."""
    best = None
    for t in np.unique(np.round(np.r_[pa, pb], 4)):
        (ca, ua), (cb, ub) = ticket_rates(pa, ya, t), ticket_rates(pb, yb, t)
        if ca <= SAMPLE_COVERED and ua >= SAMPLE_UNCOVERED and cb <= target and (best is None or ub > best[4]):
            best = (float(t), ca, ua, cb, ub)
    return best


def report(
    data: Mapping[str, list[dict[str, Any]]], candidates: Sequence[Sequence[str]], l2: float, target: float
) -> list[str]:
    names = list(data)
    lines = []
    for name in names:
        x_all = data[name]
        labels = [r["covered"] for r in x_all]
        n_cov = sum(labels)
        lines.append(f"{name}: {len(x_all)} questions, {n_cov} covered, {len(x_all) - n_cov} uncovered")
    lines.append("\nAUROC of each feature alone (higher on covered):  " + "  ".join(f"{n:>8}" for n in names))
    feats = [k for k in data[names[0]][0] if k not in ("id", "covered")]
    for f in feats:
        cells = [auroc([r[f] for r in data[n]], [r["covered"] for r in data[n]]) for n in names]
        lines.append(f"  {f:30}" + "  ".join(f"{c:8.3f}" for c in cells))
    a, b = names
    lines.append(
        f"\nfeature sets (L2 {l2}, threshold: covered->ticket <= {target} on the set fitted on)\n"
        f"  cv AUROC/cov/unc per set; {a}->{b} and {b}->{a}: AUROC, cov, unc (transferred threshold), "
        "unc (test set's own threshold); pooled: cov/unc per set"
    )
    for names_ in candidates:
        ma, mb = matrix(data[a], names_), matrix(data[b], names_)
        ca, cb = cv(*ma, l2, target), cv(*mb, l2, target)
        ab, ba = cross(ma, mb, l2, target), cross(mb, ma, l2, target)
        pooled = (np.vstack([ma[0], mb[0]]), np.r_[ma[1], mb[1]])
        w, t = fit(*pooled, l2, target)
        pa, pb = ticket_rates(predict(w, ma[0]), ma[1], t), ticket_rates(predict(w, mb[0]), mb[1], t)
        joint = joint_threshold(predict(w, ma[0]), ma[1], predict(w, mb[0]), mb[1], target)
        lines.append(f"  {' + '.join(names_)}")
        lines.append(
            f"    cv {a} {ca[0]:.3f}/{ca[1]:.3f}/{ca[2]:.3f}  cv {b} {cb[0]:.3f}/{cb[1]:.3f}/{cb[2]:.3f}  "
            f"{a}->{b} {ab[0]:.3f}/{ab[1]:.3f}/{ab[2]:.3f}/{ab[3]:.3f}  "
            f"{b}->{a} {ba[0]:.3f}/{ba[1]:.3f}/{ba[2]:.3f}/{ba[3]:.3f}  "
            f"pooled {a} {pa[0]:.3f}/{pa[1]:.3f} {b} {pb[0]:.3f}/{pb[1]:.3f}"
        )
        auc_a, auc_b = auroc(list(predict(w, ma[0])), list(ma[1] > 0)), auroc(list(predict(w, mb[0])), list(mb[1] > 0))
        lines.append(
            f"    pooled AUROC {a} {auc_a:.3f} {b} {auc_b:.3f}"
            + (
                f"; joint threshold {joint[0]:.3f}: {a} {joint[1]:.3f}/{joint[2]:.3f} {b} {joint[3]:.3f}/{joint[4]:.3f}"
                if joint
                else f"; no threshold keeps {a} at {SAMPLE_COVERED}/{SAMPLE_UNCOVERED} and {b} covered <= {target}"
            )
        )
    return lines


def search(data: Mapping[str, list[dict[str, Any]]], target: float) -> list[str]:
    """The shipped pair plus any one or two candidates (L2 1 or 3, the sample's rows counted 1 to 3 times in the
    pooled fit): the sets that beat the shipped pair cross-set in both directions (AUROC and uncovered->ticket at
    the test set's own threshold) and have a joint threshold, best transfer uncovered->ticket first."""
    a, b = "sample", "transfer"
    shipped = ("dense_top", "lexical_match")
    extras = [k for k in data[a][0] if k not in ("id", "covered", *shipped)]
    base_ma, base_mb = matrix(data[a], shipped), matrix(data[b], shipped)
    base_ab, base_ba = cross(base_ma, base_mb, 1.0, target), cross(base_mb, base_ma, 1.0, target)
    found = []
    passed: set[tuple[str, ...]] = set()
    for k in (1, 2):
        for extra in combinations(extras, k):
            names = (*shipped, *extra)
            ma, mb = matrix(data[a], names), matrix(data[b], names)
            for l2 in (1.0, 3.0):
                ab, ba = cross(ma, mb, l2, target), cross(mb, ma, l2, target)
                if not (ab[0] > base_ab[0] and ab[3] > base_ab[3] and ba[0] > base_ba[0] and ba[3] > base_ba[3]):
                    continue
                passed.add(names)
                for rep in (1, 2, 3):
                    w = fit_raw(np.vstack([ma[0]] * rep + [mb[0]]), np.r_[np.tile(ma[1], rep), mb[1]], l2)
                    joint = joint_threshold(predict(w, ma[0]), ma[1], predict(w, mb[0]), mb[1], target)
                    if joint:
                        found.append((joint[4], f"{' + '.join(names)} (L2 {l2}, sample x{rep}): joint {joint}"))
    found.sort(key=lambda f: -f[0])
    head = (
        f"\nsearch: shipped pair + 1 or 2 candidates beating it cross-set both ways ({a}->{b} AUROC "
        f"{base_ab[0]:.3f}, own {base_ab[3]:.3f}; {b}->{a} {base_ba[0]:.3f}, {base_ba[3]:.3f}): {len(passed)} sets; "
        f"of their fits, with a joint threshold: {len(found)}"
    )
    return [head, *(f"  {line}" for _, line in found[:20])]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--target-covered", type=float, default=0.05)
    ap.add_argument("--dump", help="write every question's features to this JSON file")
    ap.add_argument("--load", help="read the features from a --dump file instead of retrieving")
    ap.add_argument("--sets", nargs="*", help="extra feature sets to compare, each comma-separated")
    ap.add_argument("--search", action="store_true", help="also search the shipped pair plus 1 or 2 candidates")
    args = ap.parse_args(argv)
    data = collected(collect, load=args.load, dump=args.dump, prefix="gate-features-")
    candidates = [*CANDIDATES, *(tuple(s.split(",")) for s in args.sets or ())]
    print("\n".join(report(data, candidates, args.l2, args.target_covered)))
    if args.search:
        print("\n".join(search(data, args.target_covered)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
