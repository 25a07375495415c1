"""The confidence gate: a calibrated probability that the top sources answer the question.

A logistic model over retrieval signals (plus the model's own sufficiency verdict when an LLM answers). The weights
below were fitted on the bundled question set by `bench/calibrate_confidence.py`, which prints the fit, the
cross-validated AUROC and the ticket rates at the default threshold; re-run it after changing retrieval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from assistant.retrieval import RetrievalResult

FEATURES = ("dense_top", "dense_margin", "lexical_coverage", "agreement", "fused_top")

# Fitted by bench/calibrate_confidence.py on examples/it-space-questions.jsonl: with the local embedder,
# dense_top alone separates covered from uncovered questions best (the other features add noise).
# The threshold is the lowest whose uncovered->ticket rate reaches 0.8 on that set.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({"bias": -7.248, "dense_top": 11.695})
DEFAULT_THRESHOLD = 0.65
# How much the answering model's own verdict moves the log-odds (LLM answerers only).
SUFFICIENCY_LOGIT = {True: 1.0, False: -6.0}


def features(result: RetrievalResult) -> dict[str, float]:
    """Retrieval signals in comparable ranges (pure)."""
    pages = result.pages
    if not pages:
        return dict.fromkeys(FEATURES, 0.0)
    by_dense = sorted((p.dense for p in pages), reverse=True)
    top = pages[0]
    coverage = result.known_terms / result.query_terms if result.query_terms else 0.0
    agree = 1.0 if result.dense_top_page and result.dense_top_page == result.lexical_top_page else 0.0
    return {
        "dense_top": float(by_dense[0]),
        "dense_margin": float(by_dense[0] - (by_dense[1] if len(by_dense) > 1 else 0.0)),
        "lexical_coverage": float(coverage),
        "agreement": agree,
        "fused_top": float(top.score),
    }


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class ConfidenceGate:
    threshold: float = DEFAULT_THRESHOLD
    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)

    def logit(self, feats: Mapping[str, float]) -> float:
        return self.weights.get("bias", 0.0) + sum(self.weights.get(f, 0.0) * feats.get(f, 0.0) for f in FEATURES)

    def score(self, result: RetrievalResult, sufficient: bool | None = None) -> float:
        """Probability in [0, 1]; `sufficient` is the answering model's verdict, None without an LLM."""
        z = self.logit(features(result))
        if sufficient is not None:
            z += SUFFICIENCY_LOGIT[sufficient]
        return round(_sigmoid(z), 4)

    def decide(self, confidence: float, sufficient: bool | None = None) -> str:
        if sufficient is False:
            return "ticket"
        return "answer" if confidence >= self.threshold else "ticket"


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve (probability a positive outranks a negative; ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))
