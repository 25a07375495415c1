"""HELPDESK_RETRIEVER=bedrock-kb through real boto3 against the local bedrock-agent-runtime `Retrieve` stand-in:
the request on the wire, throttling retried, access denied explained, and `helpdesk ask` answering from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.bedrock import access_denied, throttle
from fakes.clock import FakeClock
from fakes.knowledge_base import FakeKnowledgeBase, documents_from_chunks, own_document
from support import ROOT

from assistant.exceptions import KnowledgeBaseError
from assistant.kb_retriever import KnowledgeBaseRetriever
from helpdesk.factory import build_assistant
from helpdesk.settings import Settings
from index_store.local import LocalIndexStore

KB = "KB12345678"
VPN_QUESTION = "my vpn keeps dropping every few minutes at home"
UNCOVERED = "when do we get paid this month? payday falls on a saturday"


@pytest.fixture
def fake_kb(sample_index: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKnowledgeBase]:
    """The sample space's chunks served as a Confluence data source would return them."""
    chunks = LocalIndexStore(sample_index).load().chunks
    with FakeKnowledgeBase(KB, documents_from_chunks(chunks)) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", fake.url)
        yield fake


def test_the_retrieve_request_on_the_wire_and_the_pages_it_returns(fake_kb: FakeKnowledgeBase) -> None:
    result = KnowledgeBaseRetriever(KB).retrieve(VPN_QUESTION, k=5)
    [call] = fake_kb.calls
    assert call.knowledge_base_id == KB
    assert call.body == {
        "retrievalQuery": {"text": VPN_QUESTION},
        "retrievalConfiguration": {
            "vectorSearchConfiguration": {"numberOfResults": 15, "overrideSearchType": "HYBRID"}
        },
    }
    assert 0 < len(result.pages) <= 5
    assert len({p.page_id for p in result.pages}) == len(result.pages)  # one hit per page
    top = result.pages[0]
    assert top.page_id.isdigit() and top.url.startswith("https://") and "/pages/" + top.page_id in top.url
    assert "vpn" in top.title.lower() and top.chunks and "vpn" in top.chunks[0].chunk.body.lower()


def test_our_own_metadata_names_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [own_document("77", "Printer help", "https://wiki.example.test/p/77", "Release print jobs with PaperCut.")]
    with FakeKnowledgeBase(KB, docs) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", fake.url)
        [page] = KnowledgeBaseRetriever(KB).retrieve("release print jobs").pages
    assert (page.page_id, page.title, page.url) == ("77", "Printer help", "https://wiki.example.test/p/77")


def test_throttling_is_retried_then_the_answer_comes_through(fake_kb: FakeKnowledgeBase) -> None:
    clock = FakeClock()
    retriever = KnowledgeBaseRetriever(KB, sleep=clock.sleep, clock=clock, jitter=lambda: 1.0)
    fake_kb.script(throttle(), throttle())
    result = retriever.retrieve(VPN_QUESTION)
    assert len(fake_kb.calls) == 3 and clock.sleeps == [0.5, 1.0]
    assert result.pages and "vpn" in result.pages[0].title.lower()


def test_throttling_past_the_budget_is_a_clear_error(fake_kb: FakeKnowledgeBase) -> None:
    clock = FakeClock()
    retriever = KnowledgeBaseRetriever(KB, sleep=clock.sleep, clock=clock, jitter=lambda: 1.0)
    fake_kb.script(*[throttle()] * 4)
    with pytest.raises(KnowledgeBaseError, match=r"after 4 attempts: ThrottlingException") as err:
        retriever.retrieve(VPN_QUESTION)
    assert err.value.code == "ThrottlingException" and len(fake_kb.calls) == 4


def test_access_denied_is_not_retried_and_says_which_permission(fake_kb: FakeKnowledgeBase) -> None:
    clock = FakeClock()
    fake_kb.script(access_denied("User is not authorized to perform: bedrock:Retrieve"))
    with pytest.raises(KnowledgeBaseError) as err:
        KnowledgeBaseRetriever(KB, sleep=clock.sleep, clock=clock).retrieve(VPN_QUESTION)
    assert err.value.code == "AccessDeniedException" and len(fake_kb.calls) == 1 and clock.sleeps == []
    assert str(err.value) == (
        f"retrieving from knowledge base {KB!r} failed: AccessDeniedException: User is not authorized to perform: "
        "bedrock:Retrieve (the caller needs bedrock:Retrieve on this knowledge base (and the knowledge base's role "
        "its data))"
    )


def test_an_unknown_knowledge_base_points_at_the_setting(fake_kb: FakeKnowledgeBase) -> None:
    with pytest.raises(KnowledgeBaseError, match=r"ResourceNotFoundException.*HELPDESK_KNOWLEDGE_BASE_ID"):
        KnowledgeBaseRetriever("KB00000000").retrieve(VPN_QUESTION)


def test_the_factory_needs_no_local_index_with_the_knowledge_base(fake_kb, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HELPDESK_RETRIEVER", "bedrock-kb")
    monkeypatch.setenv("HELPDESK_KNOWLEDGE_BASE_ID", KB)
    assistant = build_assistant(Settings.from_env(), str(tmp_path / "no-index-here"), with_tickets=False)
    assert isinstance(assistant.retriever, KnowledgeBaseRetriever)
    answered = assistant.ask(VPN_QUESTION, open_ticket=False)
    assert answered.decision == "answer" and answered.sources and answered.answer
    assert answered.sources[0].url.startswith("https://") and answered.page_ids[0] == answered.sources[0].page_id
    uncovered = assistant.ask(UNCOVERED, open_ticket=False)
    assert uncovered.decision == "ticket"


def _ask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "ask", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_cli_ask_answers_from_the_knowledge_base_without_an_index(fake_kb, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HELPDESK_HOME": str(tmp_path / "home"),  # empty: no index was ever built here
        "HELPDESK_RETRIEVER": "bedrock-kb",
        "HELPDESK_KNOWLEDGE_BASE_ID": KB,
    }
    proc = _ask(env, "--json", VPN_QUESTION)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"answer", "decision", "confidence", "sources", "ticket_id"}
    assert out["decision"] == "answer" and out["ticket_id"] is None
    assert "vpn" in out["sources"][0]["title"].lower() and "/pages/" in out["sources"][0]["url"]
    assert [c.query for c in fake_kb.calls] == [VPN_QUESTION]

    uncovered = json.loads(_ask(env, "--json", UNCOVERED).stdout)
    assert uncovered["decision"] == "ticket" and uncovered["ticket_id"]

    fake_kb.script(access_denied("User is not authorized to perform: bedrock:Retrieve"))
    denied = _ask(env, VPN_QUESTION)
    assert denied.returncode == 1 and "Traceback" not in denied.stderr
    assert "AccessDeniedException" in denied.stderr and "bedrock:Retrieve" in denied.stderr

    missing = _ask({**env, "HELPDESK_KNOWLEDGE_BASE_ID": ""}, VPN_QUESTION)
    assert missing.returncode == 2 and "HELPDESK_KNOWLEDGE_BASE_ID" in missing.stderr
    unknown = _ask({**env, "HELPDESK_RETRIEVER": "elastic"}, VPN_QUESTION)
    assert unknown.returncode == 2 and "HELPDESK_RETRIEVER" in unknown.stderr
