"""Fit the confidence gate on the bundled question set and print what to paste into assistant/confidence.py.

    .venv/bin/python -m bench.calibrate_confidence [--index LOCATION] [--target-uncovered 0.85]

It builds the sample index if LOCATION has none, computes the retrieval features of every question, fits an
L2-regularised logistic regression (Newton's method, numpy only), reports 10-fold cross-validated AUROC, and the
ticket rates on covered and uncovered questions for a range of thresholds. The default threshold is the highest
covered-answer rate whose uncovered ticket rate still meets --target-uncovered.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from assistant.confidence import FEATURES, auroc, features
from helpdesk.factory import build_assistant, build_embedder, build_index_store
from helpdesk.settings import Settings
from index_store.exceptions import IndexNotFound
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "examples" / "it-space-questions.jsonl"
USED = ("dense_top",)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.diag(np.r_[np.ones(len(w) - 1), 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        w -= np.linalg.solve(hess, grad)
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index")
    ap.add_argument("--target-uncovered", type=float, default=0.85)
    ap.add_argument("--l2", type=float, default=0.1)
    args = ap.parse_args()
    settings = Settings.from_env()
    location = args.index or tempfile.mkdtemp(prefix="calib-index-")
    store = build_index_store(settings, location)
    try:
        store.load()
    except IndexNotFound:
        run_ingest(ExportSource(ROOT / "examples" / "it-space"), build_embedder(settings), store)
    assistant = build_assistant(settings, location, with_tickets=False)
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    feats = [features(assistant.retrieve(r["question"])) for r in rows]
    y = np.array([1.0 if r["gold_page_ids"] else 0.0 for r in rows])
    x = np.array([[f[name] for name in USED] for f in feats])

    print(f"{len(rows)} questions: {int(y.sum())} covered, {int(len(y) - y.sum())} uncovered")
    for name in FEATURES:
        print(f"  AUROC of {name:17} alone: {auroc([f[name] for f in feats], list(y.astype(bool))):.3f}")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    cv = np.zeros(len(y))
    for fold in np.array_split(order, 10):
        train = np.setdiff1d(order, fold)
        cv[fold] = predict(fit_logistic(x[train], y[train], args.l2), x[fold])
    print(f"10-fold cross-validated AUROC ({' + '.join(USED)}): {auroc(list(cv), list(y.astype(bool))):.3f}")

    w = fit_logistic(x, y, args.l2)
    p = predict(w, x)
    print(f"in-sample AUROC: {auroc(list(p), list(y.astype(bool))):.3f}")
    print("threshold  covered->ticket  uncovered->ticket")
    best = None
    for t in np.round(np.arange(0.05, 0.96, 0.025), 3):
        cov = float(np.mean(p[y == 1] < t))
        unc = float(np.mean(p[y == 0] < t))
        print(f"  {t:.2f}       {cov:.3f}            {unc:.3f}")
        if unc >= args.target_uncovered and (best is None or cov < best[1]):
            best = (t, cov, unc)
    weights = {"bias": round(float(w[-1]), 3), **{n: round(float(v), 3) for n, v in zip(USED, w[:-1], strict=True)}}
    print(f"DEFAULT_WEIGHTS = {weights}")
    if best:
        print(f"default threshold: {best[0]:.2f} (covered->ticket {best[1]:.3f}, uncovered->ticket {best[2]:.3f})")


if __name__ == "__main__":
    main()
