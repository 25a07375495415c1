"""The confidence gate: a calibrated probability that the top sources answer the question.

A logistic model over retrieval signals (plus the model's own sufficiency verdict when an LLM answers). The weights
below were fitted on the bundled question set by `bench/calibrate_confidence.py`, which prints the fit, the
cross-validated AUROC and the ticket rates at the default threshold; re-run it after changing retrieval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from assistant.retrieval import RetrievalResult

FEATURES = (
    "dense_top",
    "dense_margin",
    "lexical_match",
    "lexical_coverage",
    "agreement",
    "fused_top",
    "log_query_terms",
)

# Fitted by bench/calibrate_confidence.py on examples/it-space-questions.jsonl (118 covered, 38 uncovered, including
# 53 short keyword-style questions in q3xx) with the local embedder (page-level fusion, 180/40-word chunks). Of the
# candidate sets it compares under cross-validation and leave-one-batch-out (top score, margin, agreement, lexical
# match, query length), dense_top + lexical_match gives the best held-out operating point: dense similarity alone
# is low for one- or two-word queries, and BM25's normalised match is high when they hit a page (docs/decisions/0006).
# The weights depend on the embedder's similarity scale: re-run the script after changing the embedder (e.g. Titan)
# or the retrieval settings (last refitted for the tantivy lexical index of format 3, docs/decisions/0017).
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({"bias": -11.473, "dense_top": 15.191, "lexical_match": 9.966})
# The threshold minimises covered->ticket / 0.05 + uncovered->answer / 0.10 on the set (the two goals, each
# error measured against its own bound): 0.085 of covered questions -> ticket, 0.921 of uncovered -> ticket.
# Used when HELPDESK_CONFIDENCE_THRESHOLD is unset (docs/configuration.md states this value; a test checks).
DEFAULT_THRESHOLD = 0.631
# The weights above are fitted to the local embedder's similarity scale (model2vec, see docs/decisions/0001). For
# any other embedder (Titan on AWS) without weights of its own (HELPDESK_CONFIDENCE_WEIGHTS, printed by
# `bench.calibrate_confidence` run with that embedder), the gate falls back to signals that do not depend on the
# embedder: BM25's normalised match and the query's length (`--features lexical_match,log_query_terms`, CV AUROC
# 0.916 against 0.834 for lexical_match alone). Its threshold is the highest that keeps covered->ticket within 0.05
# on the set (0.042; uncovered->ticket 0.605): with Bedrock the model's "not sufficient" verdict catches the rest
# (it always opens a ticket).
FITTED_EMBEDDER_PREFIX = "model2vec/minilm-l6-m2v@"
# The default local embedder (int8 all-MiniLM-L6-v2 on onnxruntime, decisions 0015 and 0019) has a similarity scale
# of its own: these weights were fitted by `bench.gate_features` on both question sets together (the sample space
# and the transfer set, 343 questions, L2 1.0). The threshold is the middle of the range 0.545-0.565 that keeps the
# sample at covered->ticket 0.076 with every uncovered question ticketed and the transfer set at covered->ticket
# 0.014. Fitted on the sample alone and tested on the transfer set (and the other way round) these five features
# keep AUROC 0.976 (0.980): the held-out estimate of a knowledge base nobody here wrote.
ONNX_EMBEDDER_PREFIX = "onnx/minilm-l6-onnx-int8@"
ONNX_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "bias": -20.798,
        "dense_top": 12.682,
        "dense_margin": 10.116,
        "lexical_match": 2.795,
        "agreement": 0.59,
        "fused_top": 13.559,
    }
)
ONNX_THRESHOLD = 0.555
# The fixed gate of each embedder that has one, by the prefix of its id (the model's name, before its digest)
FIXED_GATES: Mapping[str, tuple[Mapping[str, float], float]] = MappingProxyType(
    {
        FITTED_EMBEDDER_PREFIX: (DEFAULT_WEIGHTS, DEFAULT_THRESHOLD),
        ONNX_EMBEDDER_PREFIX: (ONNX_WEIGHTS, ONNX_THRESHOLD),
    }
)
LEXICAL_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"bias": -5.926, "lexical_match": 12.801, "log_query_terms": 2.388}
)
LEXICAL_THRESHOLD = 0.50
# The answering model's verdict moves the log-odds; it cannot be fitted here (no model calls in this environment).
# "Not sufficient" counts as a likelihood ratio under an assumed 5% false "no" on covered questions and 70% "no" on
# uncovered ones that get past retrieval: log(0.05 / 0.70) = -2.64 (and `decide` opens a ticket whatever the score).
# "Sufficient" adds nothing until measured: uncovered near-misses sit within 0.03 logits of the threshold, so any
# lift would let a model that over-claims answer them. Fit both with `bench.calibrate_confidence --with-verdict`.
SUFFICIENCY_LOGIT = {True: 0.0, False: -2.64}


def features(result: RetrievalResult) -> dict[str, float]:
    """Retrieval signals in comparable ranges (pure)."""
    pages = result.pages
    if not pages:
        return {**dict.fromkeys(FEATURES, 0.0), "log_query_terms": math.log(max(1, result.query_terms))}
    by_dense = sorted((p.dense for p in pages), reverse=True)
    top = pages[0]
    coverage = result.known_terms / result.query_terms if result.query_terms else 0.0
    agree = 1.0 if result.dense_top_page and result.dense_top_page == result.lexical_top_page else 0.0
    return {
        "dense_top": float(by_dense[0]),
        "dense_margin": float(by_dense[0] - (by_dense[1] if len(by_dense) > 1 else 0.0)),
        "lexical_match": float(result.lexical_match),
        "lexical_coverage": float(coverage),
        "agreement": agree,
        "fused_top": float(top.score),
        "log_query_terms": math.log(max(1, result.query_terms)),  # 0 for one term; short queries match easily
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

    def could_answer(self, result: RetrievalResult) -> bool:
        """Whether a "sufficient" verdict could lift this retrieval to the threshold (else skip the model call)."""
        return self.score(result, True) >= self.threshold

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


MAX_WEIGHT = 1000.0  # a fitted weight is a few units; beyond this a weight is a typo that decides every question


def parse_weights(raw: str) -> dict[str, float] | None:
    """Gate weights from JSON (pure): an object of finite numbers with known keys, else None."""
    import json

    def refuse(constant: str) -> float:
        raise ValueError(constant)

    try:
        weights = json.loads(raw, parse_constant=refuse)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None
    return validate_weights(weights)


def validate_weights(weights: object) -> dict[str, float] | None:
    """The same check on weights already decoded (an index's calibration): finite numbers with known keys."""
    if not isinstance(weights, Mapping) or not weights:
        return None
    for key, value in weights.items():
        if key != "bias" and key not in FEATURES:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not math.isfinite(value) or abs(value) > MAX_WEIGHT:
            return None
    return {str(k): float(v) for k, v in weights.items()}


def gate_for(
    embedder_id: str,
    *,
    threshold: float | None = None,
    weights_json: str = "",
    calibration: Mapping[str, Any] | None = None,
) -> ConfidenceGate:
    """The gate for an embedder, in this order: configured weights (HELPDESK_CONFIDENCE_WEIGHTS); the index's own
    `calibration` (fitted on it for this embedder, assistant/calibration.py); the fixed weights of a local embedder
    (static or ONNX); the lexical fallback.

    `threshold` (HELPDESK_CONFIDENCE_THRESHOLD) is honoured whenever set; None takes the default of the weights in
    use (DEFAULT_THRESHOLD for configured weights, the calibration's own threshold, the fixed gate's own in
    FIXED_GATES, LEXICAL_THRESHOLD for the fallback). A calibration that is unusable (NaN or infinite weights,
    another embedder's) is ignored with a warning: the fixed weights answer until `helpdesk calibrate` or the next
    ingest refits it.
    """

    from core.errors import ConfigError

    if weights_json:
        weights = parse_weights(weights_json)
        if weights is None:
            raise ConfigError(
                "HELPDESK_CONFIDENCE_WEIGHTS must be a JSON object of finite numbers (at most "
                f"{MAX_WEIGHT:g} either way; no NaN or Infinity) with keys among bias, {', '.join(FEATURES)} "
                "(as printed by bench.calibrate_confidence)"
            )
        return ConfidenceGate(
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
            weights=MappingProxyType(dict(weights)),
        )
    if calibration is not None:
        fitted = _usable_calibration(calibration, embedder_id)
        if fitted is not None:
            weights, fitted_threshold = fitted
            return ConfidenceGate(
                threshold=fitted_threshold if threshold is None else threshold, weights=MappingProxyType(weights)
            )
    for prefix, (weights, fixed_threshold) in FIXED_GATES.items():
        if embedder_id.startswith(prefix):
            return ConfidenceGate(threshold=fixed_threshold if threshold is None else threshold, weights=weights)
    return ConfidenceGate(threshold=LEXICAL_THRESHOLD if threshold is None else threshold, weights=LEXICAL_WEIGHTS)


def _usable_calibration(calibration: Mapping[str, Any], embedder_id: str) -> tuple[dict[str, float], float] | None:
    """(weights, threshold) of an index's calibration, or None with a warning saying why it is not used."""
    import logging

    weights = validate_weights(calibration.get("weights"))
    threshold = calibration.get("threshold")
    reason = ""
    if weights is None:
        reason = "its weights are not finite numbers with known keys (NaN, Infinity or beyond the bound)"
    elif isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        reason = "its threshold is not a number between 0 and 1"
    elif calibration.get("embedder_id") != embedder_id:
        reason = f"it was fitted for embedder {calibration.get('embedder_id')!r}, not {embedder_id!r}"
    if reason or weights is None:
        logging.getLogger(__name__).warning(
            "the index's confidence calibration is ignored: %s; the fixed weights decide until it is refitted "
            "(helpdesk calibrate)",
            reason,
        )
        return None
    return weights, float(threshold)


class IndexGate(ConfidenceGate):
    """The gate of the index version being served: chosen again (`choose(calibration)`) whenever `current()`
    reports another version, so a warm process that swaps in a new index also takes up that index's calibration."""

    def __init__(
        self,
        choose: Callable[[Mapping[str, Any] | None], ConfidenceGate],
        current: Callable[[], tuple[str, Mapping[str, Any] | None]],
    ) -> None:
        object.__setattr__(self, "_choose", choose)
        object.__setattr__(self, "_current", current)
        object.__setattr__(self, "_version", None)
        object.__setattr__(self, "_gate", None)

    def _active(self) -> ConfidenceGate:
        version, calibration = self._current()
        if self._gate is None or version != self._version:
            object.__setattr__(self, "_gate", self._choose(calibration))
            object.__setattr__(self, "_version", version)
        return self._gate

    @property  # type: ignore[override]
    def threshold(self) -> float:
        return self._active().threshold

    @property  # type: ignore[override]
    def weights(self) -> Mapping[str, float]:
        return self._active().weights

    def __repr__(self) -> str:
        return f"IndexGate(version={self._version!r}, gate={self._gate!r})"
