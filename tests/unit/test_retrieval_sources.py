"""Page-level fusion, the numbered sources and their token budget, the gate's rules, the local follow-up rewrite."""

from pathlib import Path

import pytest
from support import HashEmbedder, page_object, write_export

from assistant.confidence import DEFAULT_THRESHOLD, ConfidenceGate
from assistant.followup import local_rewrite
from assistant.model import Turn
from assistant.prompt import render_sources, sources_tokens
from assistant.retrieval import ChunkHit, HybridRetriever, PageHit, RetrievalResult, rrf
from assistant.sources import GAP, build_sources, estimate_tokens
from helpdesk.settings import Settings
from index_store.format import Chunk
from index_store.lexical import LexicalIndex
from index_store.local import LocalIndexStore
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource


def test_a_page_near_the_top_of_both_lists_beats_one_first_in_only_one() -> None:
    fused = rrf([["dense-only", "both"], ["lexical-only", "both"]], [1.0, 1.0], k=60)
    assert max(fused, key=fused.__getitem__) == "both"
    assert rrf([["a"]], [2.0], k=0)["a"] == 2.0


def test_hybrid_retriever_returns_distinct_pages_with_scaled_scores(tmp_path: Path) -> None:
    body = "".join(f"<h2>Part {i}</h2><p>GlobalProtect VPN step {i}: restart the client {i}.</p>" for i in range(6))
    pages = [
        page_object("1", "VPN setup", body, ancestors=["IT"]),
        page_object("2", "Printer help", "<p>Printers are on every floor. Use PaperCut to release jobs.</p>"),
        page_object("3", "Wi-Fi", "<p>Connect to the CorpNet Wi-Fi network with your SSO login.</p>"),
    ]
    store = LocalIndexStore(tmp_path / "idx")
    run_ingest(ExportSource(write_export(tmp_path / "e", pages)), HashEmbedder(), store)
    result = HybridRetriever(store.load(), HashEmbedder()).retrieve("globalprotect vpn restart", k=10)
    ids = [p.page_id for p in result.pages]
    assert ids[0] == "1" and len(ids) == len(set(ids)) == 3
    assert result.pages[0].score == pytest.approx(1.0) and all(0 < p.score <= 1.0 for p in result.pages)
    assert 0 < result.lexical_match <= 1 and result.dense_top_page == result.lexical_top_page == "1"
    with pytest.raises(ValueError, match="fusion"):
        HybridRetriever(store.load(), HashEmbedder(), fusion="sum")


def test_lexical_ceiling_bounds_every_score() -> None:
    lex = LexicalIndex.build(["vpn vpn client restart", "printer paper", "vpn"])
    for q in ("vpn restart", "vpn pension", "pension"):
        assert float(lex.scores(q).max()) <= lex.max_score(q) + 1e-6
    assert lex.max_score("") == 0.0


def chunk(page: str, ordinal: int, words: int, heading: str = "") -> ChunkHit:
    c = Chunk(
        f"{page}-{ordinal}", "h", page, ordinal, f"Title {page}", f"https://w/{page}", ("IT", "Sub"), heading,
        " ".join(f"w{page}{ordinal}" for _ in range(words)),
    )  # fmt: skip
    return ChunkHit(chunk=c, dense=0.5, lexical=1.0, fused=0.01)


def page(pid: str, hits: list[ChunkHit], score: float = 1.0) -> PageHit:
    return PageHit(pid, f"Title {pid}", f"https://w/{pid}", score, 0.5, 1.0, hits)


def test_sources_are_numbered_by_page_with_title_breadcrumb_and_merged_chunks() -> None:
    pages = [page("A", [chunk("A", 3, 20, "H"), chunk("A", 4, 20, "H"), chunk("A", 9, 20, "Z")]), page("B", [])]
    [s] = build_sources(pages)
    assert (s.number, s.title, s.breadcrumb, s.url) == (1, "Title A", ("IT", "Sub"), "https://w/A")
    body = s.text.split("\n")
    assert body[0] == "## H" and body[1].startswith("wA3") and body[2].startswith("wA4")  # adjacent: one passage
    assert body[3] == GAP and body[4] == "## Z"  # a gap before a non-adjacent chunk


def test_best_chunk_of_each_page_comes_before_second_bests_under_a_tight_budget() -> None:
    pages = [page(p, [chunk(p, 0, 150), chunk(p, 1, 150), chunk(p, 2, 150)]) for p in "ABC"]
    out = build_sources(pages, token_budget=600)
    assert [s.page_id for s in out] == ["A", "B", "C"]
    assert all("wA1" not in s.text for s in out)  # A's second chunk did not fit after every page's best
    assert sources_tokens(out) <= 600


@pytest.mark.parametrize("budget", [300, 1000, 3000])
def test_budget_holds_on_the_sample_space(sample_index: Path, budget: int) -> None:
    from helpdesk.factory import build_assistant

    assistant = build_assistant(Settings.from_env(), str(sample_index), with_tickets=False)
    for q in ("vpn keeps dropping at home", "how do I book a meeting room", "new laptop setup checklist"):
        out = build_sources(assistant.retrieve(q).pages, token_budget=budget)
        assert out and sources_tokens(out) <= budget * 1.02  # the estimate is per part; rounding stays within 2 %
        assert estimate_tokens(render_sources(out)) == sources_tokens(out)


def test_one_chunk_larger_than_the_budget_is_cut_not_dropped() -> None:
    [s] = build_sources([page("A", [chunk("A", 0, 2000)])], token_budget=200)
    assert s.text.endswith(GAP) and sources_tokens([s]) <= 260


def test_gate_rules() -> None:
    from assistant.confidence import gate_for

    gate = ConfidenceGate()
    assert (
        Settings().answering.confidence_threshold is None
        and Settings.from_env({}).answering.confidence_threshold is None
    )
    unset = gate_for("model2vec/minilm-l6-m2v@abc123", threshold=Settings.from_env({}).answering.confidence_threshold)
    assert gate.threshold == DEFAULT_THRESHOLD == unset.threshold
    assert gate.decide(0.99, sufficient=False) == "ticket"
    assert gate.decide(DEFAULT_THRESHOLD, None) == "answer" and gate.decide(DEFAULT_THRESHOLD - 0.01) == "ticket"
    hit = page("A", [chunk("A", 0, 5)])
    strong, weak = RetrievalResult("q", [hit]), RetrievalResult("q", [PageHit("B", "B", "u", 1.0, 0.1, 0.0, [])])
    strong.pages[0].dense = 0.8
    assert gate.could_answer(strong) and not gate.could_answer(weak)
    assert gate.score(strong, True) >= gate.score(strong) > gate.score(strong, False)
    assert gate.score(RetrievalResult("q", [])) < 0.01


def test_local_follow_up_rewrite() -> None:
    history = [Turn("user", "how do I install GlobalProtect on my mac"), Turn("assistant", "Download it [1].")]
    assert local_rewrite("and on windows?", history) == "how do I install GlobalProtect on my mac and on windows?"
    assert local_rewrite("does that work on linux too", history).startswith("how do I install GlobalProtect")
    standalone = "how do I book a meeting room in the Berlin office for tomorrow"
    assert local_rewrite(standalone, history) == standalone
    assert local_rewrite("and on windows?", []) == "and on windows?"
    assert local_rewrite("and on my windows pc?", history).startswith("how do I install GlobalProtect on my mac and")
    assert local_rewrite("and how do I add a guest to the wifi?", history) == "and how do I add a guest to the wifi?"


def test_a_short_follow_up_on_a_new_topic_is_searched_alone_and_the_old_answer_never() -> None:
    history = [Turn("user", "how do I reset my MFA?"), Turn("assistant", "Open Okta Verify and tap Reset [1].")]
    assert local_rewrite("what about guest wifi?", history) == "what about guest wifi?"
    assert local_rewrite("printer jam", history) == "printer jam"
    assert "Okta Verify" not in local_rewrite("does it work on my phone?", history)
    chain = [*history, Turn("user", "and on Android?")]
    assert local_rewrite("what if that fails?", chain) == "how do I reset my MFA? and on Android? what if that fails?"


def test_gate_weights_follow_the_embedder() -> None:
    from assistant.confidence import (
        DEFAULT_WEIGHTS,
        LEXICAL_THRESHOLD,
        LEXICAL_WEIGHTS,
        ONNX_THRESHOLD,
        ONNX_WEIGHTS,
        gate_for,
    )
    from helpdesk.settings import SettingsError

    local = gate_for("model2vec/minilm-l6-m2v@abc123", threshold=0.57)
    assert local.weights == DEFAULT_WEIGHTS and local.threshold == 0.57
    onnx = gate_for("onnx/minilm-l6-onnx-int8@11c57f5a91c5", threshold=None)
    assert onnx.weights == ONNX_WEIGHTS and onnx.threshold == ONNX_THRESHOLD
    assert gate_for("onnx/minilm-l6-onnx-int8@11c57f5a91c5", threshold=0.7).threshold == 0.7
    titan = gate_for("bedrock/amazon.titan-embed-text-v2:0", threshold=None)
    assert titan.weights == LEXICAL_WEIGHTS and titan.threshold == LEXICAL_THRESHOLD
    # a configured threshold is honoured for the lexical fallback too
    assert gate_for("bedrock/amazon.titan-embed-text-v2:0", threshold=0.3).threshold == 0.3
    fitted = gate_for("bedrock/x", threshold=0.6, weights_json='{"bias": -9, "dense_top": 20}')
    assert dict(fitted.weights) == {"bias": -9, "dense_top": 20} and fitted.threshold == 0.6
    assert gate_for("bedrock/x", weights_json='{"bias": -9, "dense_top": 20}').threshold == DEFAULT_THRESHOLD
    for bad in ("{oops", '{"bias": "x"}', '{"colour": 1}', "[1, 2]", "{}", '{"bias": true}'):
        with pytest.raises(SettingsError, match="HELPDESK_CONFIDENCE_WEIGHTS"):
            gate_for("bedrock/x", threshold=0.5, weights_json=bad)


def test_invalid_confidence_weights_are_a_one_line_settings_error(sample_index, tmp_path, monkeypatch, capsys) -> None:
    from helpdesk.cli import main

    monkeypatch.setenv("HELPDESK_HOME", str(tmp_path))
    monkeypatch.setenv("HELPDESK_INDEX", str(sample_index))
    monkeypatch.setenv("HELPDESK_CONFIDENCE_WEIGHTS", '{"colour": 1}')
    assert main(["ask", "reset mfa"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("helpdesk: error: HELPDESK_CONFIDENCE_WEIGHTS") and err.count("\n") == 1
