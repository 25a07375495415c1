"""The self-calibrating gate's pure parts: pseudo-questions, the fit, the threshold, the manifest round trip."""

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from assistant.calibration import (
    CalibrationInvalid,
    PseudoQuestion,
    cap_questions,
    fit_calibration,
    near_duplicates,
    parse_calibration,
    pseudo_questions,
    threshold_for_covered,
)
from assistant.confidence import DEFAULT_THRESHOLD, DEFAULT_WEIGHTS, gate_for
from index_store.format import Chunk, IndexBundle, StoredPage, build_faiss_index, new_version_id
from index_store.lexical import LexicalIndex
from index_store.local import LocalIndexStore

EMB = "model2vec/minilm-l6-m2v@abc"


def page(pid: str = "1", title: str = "Reset your Okta password on a new laptop", body: str = "") -> list[Chunk]:
    body = body or "Open the Okta dashboard and choose forgot password. Enter the code sent to your phone."
    return [
        Chunk.of(pid, 0, title, ("IT",), "", body),
        Chunk.of(pid, 1, title, ("IT",), "Troubleshooting locked accounts", "Call the service desk after five tries."),
    ]


def test_pseudo_questions_are_deterministic_capped_and_not_the_page_verbatim() -> None:
    chunks = page()
    first = pseudo_questions("1", chunks[0].title, chunks)
    assert first == pseudo_questions("1", chunks[0].title, chunks)
    assert 1 <= len(first) <= 2 and all(q.page_id == "1" for q in first)
    assert all(q.text.lower() != chunks[0].title.lower() for q in first)
    assert len(pseudo_questions("1", chunks[0].title, chunks, per_page=1)) == 1


def test_changed_content_changes_the_questions_and_common_headings_are_not_asked() -> None:
    a = pseudo_questions("1", "Printer setup", page(title="Printer setup"), per_page=6)
    b = pseudo_questions("1", "Printer setup", page(title="Printer setup", body="Totally different words here now."), 6)
    assert a != b
    common = pseudo_questions(
        "1",
        "Printer setup",
        page(title="Printer setup"),
        per_page=6,
        common_headings={"troubleshooting locked accounts"},
    )
    assert not [q for q in common if q.kind == "heading"]


def test_cap_takes_whole_pages_the_same_way_each_run() -> None:
    questions = [PseudoQuestion(str(p), f"q{p}-{i}", "title") for p in range(100) for i in range(2)]
    capped = cap_questions(questions, 51)
    assert len(capped) == 50
    assert {q.page_id for q in capped} == {q.page_id for q in cap_questions(list(reversed(questions)), 51)}
    assert all(sum(q.page_id == p.page_id for q in capped) == 2 for p in capped)
    assert cap_questions(questions, 500) == questions


def test_near_duplicates_group_pages_with_the_same_content_only() -> None:
    c = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0]])
    groups = near_duplicates(["a", "b", "c"], c, 0.9)
    assert groups["a"] == {"a", "b"} and groups["c"] == {"c"}
    assert near_duplicates(["a", "b", "c"], c, 0.9, neighbours=1)["c"] == {"c", "b"}


def test_threshold_keeps_covered_tickets_within_the_target() -> None:
    scores = [i / 100 for i in range(1, 101)]
    t = threshold_for_covered(scores, 0.05)
    assert np.mean(np.array(scores) < t) <= 0.05 and t == 0.06
    assert threshold_for_covered(scores, 0.0) == 0.01


def test_fit_separates_covered_from_uncovered_and_states_its_rates() -> None:
    rng = np.random.default_rng(0)
    cov = [{"dense_top": 0.8 + rng.normal(0, 0.05), "lexical_match": 0.7 + rng.normal(0, 0.1)} for _ in range(200)]
    unc = [{"dense_top": 0.5 + rng.normal(0, 0.05), "lexical_match": 0.2 + rng.normal(0, 0.1)} for _ in range(200)]
    fit = fit_calibration(cov, unc, EMB)
    assert fit.auroc > 0.99 and fit.covered_ticket_rate <= 0.05 and fit.uncovered_ticket_rate > 0.95
    assert fit.weights["dense_top"] > 0 and fit.weights["lexical_match"] > 0
    assert all(math.isfinite(v) for v in fit.weights.values()) and (fit.covered, fit.uncovered) == (200, 200)
    gate = gate_for(EMB, calibration=fit.to_json())
    assert gate.threshold == fit.threshold and dict(gate.weights) == fit.weights


def test_gate_prefers_configured_weights_then_the_calibration_then_the_fixed_ones() -> None:
    cal = {"weights": {"bias": -1.0, "lexical_match": 3.0}, "threshold": 0.4, "embedder_id": EMB}
    explicit = gate_for(EMB, weights_json='{"bias": 0.5}', calibration=cal)
    assert dict(explicit.weights) == {"bias": 0.5} and explicit.threshold == DEFAULT_THRESHOLD
    assert gate_for(EMB, calibration=cal).threshold == 0.4
    assert gate_for(EMB, calibration=cal, threshold=0.7).threshold == 0.7
    assert dict(gate_for(EMB).weights) == dict(DEFAULT_WEIGHTS)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"weights": {"bias": math.nan}}, "NaN"),
        ({"weights": {"bias": math.inf}}, "NaN"),
        ({"weights": {"bogus": 1.0}}, "known keys"),
        ({"threshold": 1.5}, "between 0 and 1"),
        ({"embedder_id": "bedrock/other"}, "fitted for embedder"),
    ],
)
def test_an_unusable_calibration_is_ignored_with_a_warning(change: dict, why: str, caplog) -> None:
    cal = {"weights": {"bias": -1.0, "lexical_match": 3.0}, "threshold": 0.4, "embedder_id": EMB, **change}
    with caplog.at_level(logging.WARNING):
        gate = gate_for(EMB, calibration=cal)
    assert dict(gate.weights) == dict(DEFAULT_WEIGHTS) and gate.threshold == DEFAULT_THRESHOLD
    assert why in caplog.text and "ignored" in caplog.text
    if "weights" in change:
        with pytest.raises(CalibrationInvalid):
            parse_calibration(cal)


def test_calibration_round_trips_through_the_manifest(tmp_path: Path) -> None:
    chunks = page("1") + page("2", title="VPN on a hotel network")
    vecs = np.eye(len(chunks), 8, dtype=np.float32)
    bundle = IndexBundle(
        embedder_id=EMB,
        dimension=8,
        chunks=chunks,
        pages={p: StoredPage(p, "t", "u", 1, "h") for p in ("1", "2")},
        index=build_faiss_index(vecs, 8),
        lexical=LexicalIndex.build([c.embed_text for c in chunks]),
        embeddings=vecs,
        version=new_version_id(),
    )
    store = LocalIndexStore(tmp_path)
    store.publish(bundle)
    assert store.load().calibration is None
    fit = fit_calibration(
        [{"dense_top": 0.9, "lexical_match": 0.8}] * 5, [{"dense_top": 0.3, "lexical_match": 0.1}] * 5, EMB
    )
    bundle.calibration, bundle.version = fit.to_json(), new_version_id()
    store.publish(bundle)
    loaded = store.load().calibration
    assert loaded == fit.to_json() and parse_calibration(loaded) == fit


def test_the_gate_follows_the_served_version_and_its_calibration() -> None:
    from assistant.confidence import IndexGate

    served = {"version": "v1", "calibration": None}
    cal = {"weights": {"bias": -1.0, "lexical_match": 3.0}, "threshold": 0.4, "embedder_id": EMB}
    gate = IndexGate(lambda c: gate_for(EMB, calibration=c), lambda: (served["version"], served["calibration"]))
    assert gate.threshold == DEFAULT_THRESHOLD and dict(gate.weights) == dict(DEFAULT_WEIGHTS)
    served.update(version="v2", calibration=cal)
    assert gate.threshold == 0.4 and gate.decide(0.45) == "answer" and gate.decide(0.35) == "ticket"
