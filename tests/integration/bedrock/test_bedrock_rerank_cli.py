"""Optional Bedrock rerank (request/response shape against the fake) and `helpdesk ask` on Bedrock from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.bedrock import FakeError, throttle
from fakes.clock import FakeClock
from support import ROOT

from assistant.exceptions import RerankError
from assistant.rerank import BedrockReranker, RerankingRetriever, parse_rerank, rerank_request
from assistant.retrieval import RefreshingRetriever
from helpdesk.factory import build_assistant
from helpdesk.settings import Settings

ARN = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"


def test_rerank_request_and_reply_shape(fake_bedrock) -> None:
    order = BedrockReranker(ARN).rerank("release a print job", ["wifi setup", "release print job papercut"], 2)
    [call] = fake_bedrock.calls
    assert call.operation == "rerank"
    assert call.body["queries"] == [{"type": "TEXT", "textQuery": {"text": "release a print job"}}]
    assert call.body["sources"][1] == {
        "type": "INLINE",
        "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": "release print job papercut"}},
    }
    assert call.body["rerankingConfiguration"] == {
        "type": "BEDROCK_RERANKING_MODEL",
        "bedrockRerankingConfiguration": {"numberOfResults": 2, "modelConfiguration": {"modelArn": ARN}},
    }
    assert [i for i, _ in order] == [1, 0]


def test_a_throttled_rerank_is_retried_once(fake_bedrock, clock: FakeClock) -> None:
    reranker = BedrockReranker(ARN, sleep=clock.sleep, clock=clock, jitter=lambda: 1.0)
    fake_bedrock.script(throttle())
    assert [i for i, _ in reranker.rerank("printer", ["wifi", "printer"], 2)] == [1, 0]
    assert [c.operation for c in fake_bedrock.calls] == ["rerank", "rerank"] and clock.sleeps == [1.0]
    fake_bedrock.script(throttle(), throttle())
    with pytest.raises(RerankError, match=r"ThrottlingException.*bedrock:Rerank"):
        reranker.rerank("printer", ["wifi", "printer"], 2)
    assert len(fake_bedrock.calls) == 4 and clock.sleeps == [1.0, 1.0]


def test_rerank_access_denied_is_not_retried(fake_bedrock, clock: FakeClock) -> None:
    fake_bedrock.script(FakeError("AccessDeniedException", 403, "not allowed"))
    with pytest.raises(RerankError, match="AccessDeniedException: not allowed"):
        BedrockReranker(ARN, sleep=clock.sleep, clock=clock).rerank("printer", ["wifi", "printer"], 2)
    assert len(fake_bedrock.calls) == 1 and clock.sleeps == []


def test_rerank_reply_parsing_is_defensive() -> None:
    reply = {"results": [{"index": 2, "relevanceScore": 0.1}, {"index": 9, "relevanceScore": 0.9}, {"index": 0}]}
    assert parse_rerank(reply, 3) == [(2, 0.1)]
    with pytest.raises(RerankError):
        parse_rerank({"nope": 1}, 3)
    assert (
        rerank_request(ARN, "q", ["a"], 10)["rerankingConfiguration"]["bedrockRerankingConfiguration"][
            "numberOfResults"
        ]
        == 1
    )


def test_rerank_is_wired_from_settings_and_a_failure_keeps_the_fused_order(sample_index, fake_bedrock, monkeypatch):
    q = "how do I release my print job at the printer"
    plain = build_assistant(Settings.from_env(), str(sample_index), with_tickets=False).retrieve(q)
    monkeypatch.setenv("HELPDESK_RERANK_MODEL_ARN", ARN)
    assistant = build_assistant(Settings.from_env(), str(sample_index), with_tickets=False)
    assert isinstance(assistant.retriever, RerankingRetriever)
    assert isinstance(assistant.retriever.base, RefreshingRetriever)
    fake_bedrock.reranker = lambda call: {
        "results": [{"index": i, "relevanceScore": float(i)} for i in range(len(call.body["sources"]))]
    }
    reranked = assistant.retrieve(q)
    assert [p.page_id for p in reranked.pages] == [p.page_id for p in plain.pages][::-1]
    fake_bedrock.script(FakeError("AccessDeniedException", 403, "not allowed"))
    assert [p.page_id for p in assistant.retrieve(q).pages] == [p.page_id for p in plain.pages]
    result = assistant.ask(q, open_ticket=False)
    assert result.sources and result.page_ids


def test_cli_ask_on_bedrock_keeps_the_json_contract(sample_index: Path, fake_bedrock, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HELPDESK_HOME": str(tmp_path / "home"),
        "HELPDESK_INDEX": str(sample_index),
        "HELPDESK_ANSWERER": "bedrock",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "ask", "--json", "my vpn keeps dropping every few minutes at home"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"answer", "decision", "confidence", "sources", "ticket_id"}
    assert out["decision"] == "answer" and "[1]" in out["answer"] and out["sources"]
    assert len(fake_bedrock.converse_calls) == 1

    env["HELPDESK_GUARDRAIL_ID"] = "gr-1"
    bad = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "ask", "vpn?"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert bad.returncode == 2 and "HELPDESK_GUARDRAIL_VERSION" in bad.stderr and "Traceback" not in bad.stderr
