"""The Bedrock Knowledge Base retriever's pure parts: the Retrieve request, the reply read into pages, the settings
that select it, and the confidence gate over what it returns."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from assistant.confidence import LEXICAL_THRESHOLD, gate_for
from assistant.exceptions import KnowledgeBaseError
from assistant.kb_retriever import failure, lexical_match, page_of, parse_retrieve, retrieve_request
from assistant.sources import GAP, build_sources
from core.errors import ConfigError
from helpdesk.settings import Settings

KB = "KB12345678"
WIKI = "https://acme.atlassian.net/wiki/spaces/IT/pages"


def confluence(page_id: str, title: str, text: str, score: float) -> dict:
    url = f"{WIKI}/{page_id}/{title.replace(' ', '+')}"
    return {
        "content": {"type": "TEXT", "text": text},
        "location": {"type": "CONFLUENCE", "confluenceLocation": {"url": url}},
        "metadata": {"x-amz-bedrock-kb-source-uri": url, "x-amz-bedrock-kb-chunk-id": f"c-{page_id}-{score}"},
        "score": score,
    }


def test_the_request_asks_for_hybrid_search_and_three_chunks_per_page_within_the_api_limit() -> None:
    assert retrieve_request(KB, "vpn drops", 10) == {
        "knowledgeBaseId": KB,
        "retrievalQuery": {"text": "vpn drops"},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {"numberOfResults": 30, "overrideSearchType": "HYBRID"}
        },
    }
    assert (
        retrieve_request(KB, "q", 50)["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] == 100
    )
    assert retrieve_request(KB, "q", 0)["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] == 1


def test_a_confluence_data_source_result_names_its_page_by_the_url() -> None:
    item = confluence("229378", "VPN setup guide", "text", 0.8)
    assert page_of(item) == ("229378", "VPN setup guide", f"{WIKI}/229378/VPN+setup+guide")
    legacy = {"location": {"type": "WEB", "webLocation": {"url": "https://wiki.acme/pages/viewpage.action?pageId=42"}}}
    assert page_of(legacy)[0] == "42"


def test_our_own_metadata_wins_over_the_data_source_s() -> None:
    item = {
        "metadata": {
            "page_id": "7",
            "title": "Printers",
            "url": "https://wiki/p/7",
            "x-amz-bedrock-kb-source-uri": "s3://b/7.txt",
        },
        "location": {"type": "S3", "s3Location": {"uri": "s3://b/7.txt"}},
    }
    assert page_of(item) == ("7", "Printers", "https://wiki/p/7")
    titled = {"metadata": {"x-amz-bedrock-kb-title": "Wi-Fi", "x-amz-bedrock-kb-source-uri": "s3://b/wifi.txt"}}
    assert page_of(titled) == ("s3://b/wifi.txt", "Wi-Fi", "s3://b/wifi.txt")
    assert page_of({"documentId": "doc-9"}) == ("doc-9", "doc-9", "")


def test_chunks_of_one_page_become_one_page_hit_in_the_order_of_the_best_chunk() -> None:
    reply = {
        "retrievalResults": [
            confluence("1", "VPN setup", "Restart GlobalProtect when the vpn drops.", 0.82),
            confluence("2", "Wi-Fi", "Guests join the CorpGuest network.", 0.61),
            confluence("1", "VPN setup", "The vpn portal is vpn.acme.example.", 0.55),
            {"content": {"type": "TEXT", "text": ""}, "score": 0.9},  # no text, no page: dropped
            "not a result",
        ]
    }
    result = parse_retrieve(reply, "my vpn drops", 10)
    assert [p.page_id for p in result.pages] == ["1", "2"]
    vpn = result.pages[0]
    assert (vpn.title, vpn.score, vpn.dense) == ("VPN setup", 0.82, 0.82)
    assert [h.chunk.body for h in vpn.chunks] == [
        "Restart GlobalProtect when the vpn drops.",
        "The vpn portal is vpn.acme.example.",
    ]
    assert result.dense_top_page == "1" and result.lexical_top_page == "1"
    assert result.query_terms == 2 and result.known_terms == 2
    assert result.lexical_match == vpn.lexical == vpn.chunks[0].lexical > vpn.chunks[1].lexical > 0
    assert parse_retrieve(reply, "my vpn drops", 1).pages == [vpn]


def test_the_lexical_match_is_bm25_without_idf_over_its_ceiling() -> None:
    terms = frozenset({"vpn", "drop"})
    assert lexical_match(terms, ["vpn", "drop"], avg_len=2) == pytest.approx(2 * 1.0 / (2.2 * 2))  # tf 1, mean length
    assert lexical_match(terms, ["vpn", "other"], avg_len=2) == pytest.approx(0.5 / 2.2)
    assert lexical_match(terms, ["vpn", "drop"] * 50, avg_len=100) > lexical_match(terms, ["vpn", "drop"], avg_len=2)
    assert lexical_match(terms, ["printer"], avg_len=1) == 0.0 == lexical_match(frozenset(), ["vpn"], avg_len=1)
    assert lexical_match(terms, ["vpn", "drop"] * 10_000, avg_len=1) <= 1.0


def test_sources_from_the_knowledge_base_mark_the_gap_between_chunks_of_unknown_position() -> None:
    reply = {
        "retrievalResults": [
            confluence("1", "VPN setup", "Restart GlobalProtect.", 0.8),
            confluence("1", "VPN setup", "The portal is vpn.acme.example.", 0.5),
        ]
    }
    [source] = build_sources(parse_retrieve(reply, "vpn", 5).pages)
    assert source.text == f"Restart GlobalProtect.\n{GAP}\nThe portal is vpn.acme.example."
    assert (source.number, source.page_id, source.url) == (1, "1", f"{WIKI}/1/VPN+setup")


def test_an_empty_reply_is_no_pages_and_a_malformed_one_an_error() -> None:
    empty = parse_retrieve({"retrievalResults": []}, "printer", 10)
    assert (empty.pages, empty.dense_top_page, empty.lexical_match) == ([], None, 0.0)
    with pytest.raises(KnowledgeBaseError, match="no retrievalResults"):
        parse_retrieve({"results": []}, "printer", 10)


def test_the_gate_answers_a_matching_question_and_tickets_an_unmatched_one() -> None:
    gate = gate_for(f"bedrock-kb/{KB}")
    assert gate.threshold == LEXICAL_THRESHOLD  # never the weights fitted to the local embedder's scale
    matched = parse_retrieve(
        {"retrievalResults": [confluence("1", "VPN", "When the vpn keeps dropping, restart GlobalProtect.", 0.7)]},
        "vpn keeps dropping",
        10,
    )
    unmatched = parse_retrieve(
        {"retrievalResults": [confluence("2", "Wi-Fi", "Guests join the CorpGuest network.", 0.3)]},
        "parental leave policy for contractors",
        10,
    )
    assert gate.decide(gate.score(matched)) == "answer"
    assert gate.decide(gate.score(unmatched)) == "ticket"


def test_failures_name_the_knowledge_base_the_code_and_what_to_check() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Retrieve")
    err = failure(KB, denied)
    assert err.code == "AccessDeniedException"
    assert str(err).startswith(f"retrieving from knowledge base {KB!r} failed: AccessDeniedException: not authorized")
    assert "bedrock:Retrieve" in str(err)
    missing = failure(KB, ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "Retrieve"))
    assert "HELPDESK_KNOWLEDGE_BASE_ID" in str(missing)
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Retrieve")
    assert "after 4 attempts: ThrottlingException" in str(failure(KB, throttled, attempts=4))
    offline = failure(KB, EndpointConnectionError(endpoint_url="https://x"))
    assert offline.code == "EndpointConnectionError"


def test_settings_select_the_retriever() -> None:
    assert Settings.from_env({}).answering.retriever == "hybrid"
    s = Settings.from_env({"HELPDESK_RETRIEVER": "bedrock-kb", "HELPDESK_KNOWLEDGE_BASE_ID": KB})
    assert (s.answering.retriever, s.answering.knowledge_base_id) == ("bedrock-kb", KB)


@pytest.mark.parametrize(
    ("env", "variable", "message"),
    [
        ({"HELPDESK_RETRIEVER": "opensearch"}, "HELPDESK_RETRIEVER", "must be one of: hybrid, bedrock-kb"),
        ({"HELPDESK_RETRIEVER": "bedrock-kb"}, "HELPDESK_KNOWLEDGE_BASE_ID", "needs HELPDESK_KNOWLEDGE_BASE_ID"),
        ({"HELPDESK_KNOWLEDGE_BASE_ID": "kb/../x"}, "HELPDESK_KNOWLEDGE_BASE_ID", "is not a knowledge base id"),
    ],
)
def test_bad_retriever_settings_are_config_errors_naming_the_variable(env: dict, variable: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        Settings.from_env(env)
    assert variable in str(err.value) and err.value.exit_code == 2
