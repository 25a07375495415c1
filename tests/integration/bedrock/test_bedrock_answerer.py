"""The Bedrock answerer end to end: the real boto3 client against the local bedrock-runtime fake."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fakes.bedrock import MODEL, Call, FakeBedrock, FakeError, access_denied, text_reply, throttle, tool_reply
from fakes.clock import FakeClock
from support import SAMPLE_QUESTIONS

from assistant import messages
from assistant.answerers.bedrock import BedrockAnswerer
from assistant.answerers.parse import MAX_ANSWER_CHARS
from assistant.model import Turn
from assistant.prompt import JSON_INSTRUCTION, SYSTEM_PROMPT
from assistant.service import Assistant
from helpdesk.factory import build_assistant
from helpdesk.settings import Settings, SettingsError

VPN_Q = "my vpn keeps dropping every few minutes when I work from home, what should I try?"


@pytest.fixture
def assistant(sample_index: Path, fake_bedrock: FakeBedrock, clock: FakeClock, monkeypatch) -> Assistant:
    monkeypatch.setenv("HELPDESK_ANSWERER", "bedrock")
    a = build_assistant(Settings.from_env(), str(sample_index))
    assert isinstance(a.answerer, BedrockAnswerer)
    a.answerer.sleep, a.answerer.clock = clock.sleep, clock
    return a


def test_request_carries_model_prompt_sources_and_inference_config(assistant, fake_bedrock) -> None:
    result = assistant.ask(VPN_Q)
    [call] = fake_bedrock.converse_calls
    assert call.model_id == MODEL and call.body.get("modelId") is None  # the id travels in the URL path
    assert call.system == SYSTEM_PROMPT
    assert call.body["inferenceConfig"] == {"maxTokens": 700, "temperature": 0.1}
    assert call.body["toolConfig"]["toolChoice"] == {"tool": {"name": "submit_answer"}}
    assert "guardrailConfig" not in call.body
    text = call.user_text
    assert text.startswith('<sources>\n<source n="1">\ntitle: VPN troubleshooting\nbreadcrumb: ')
    assert text.count("<source n=") == text.count("</source>") >= 2
    assert text.index("</sources>") < text.index("<question>") and VPN_Q in text
    assert result.decision == "answer" and "[1]" in result.answer
    assert result.sources[0].title == "VPN troubleshooting" and result.ticket_id is None


def test_guardrail_and_settings(sample_index, fake_bedrock, monkeypatch) -> None:
    monkeypatch.setenv("HELPDESK_ANSWERER", "bedrock")
    monkeypatch.setenv("HELPDESK_GUARDRAIL_ID", "gr-abc123")
    monkeypatch.setenv("HELPDESK_GUARDRAIL_VERSION", "3")
    monkeypatch.setenv("HELPDESK_BEDROCK_CHAT_MODEL", "eu.anthropic.claude-3-haiku-20240307-v1:0")
    monkeypatch.setenv("HELPDESK_ANSWER_MAX_TOKENS", "300")
    build_assistant(Settings.from_env(), str(sample_index), with_tickets=False).ask(VPN_Q)
    [call] = fake_bedrock.converse_calls
    assert call.model_id == "eu.anthropic.claude-3-haiku-20240307-v1:0"
    assert call.body["guardrailConfig"] == {
        "guardrailIdentifier": "gr-abc123",
        "guardrailVersion": "3",
        "trace": "disabled",
    }
    assert call.body["inferenceConfig"]["maxTokens"] == 300
    monkeypatch.delenv("HELPDESK_GUARDRAIL_VERSION")
    with pytest.raises(SettingsError, match="HELPDESK_GUARDRAIL_VERSION"):
        build_assistant(Settings.from_env(), str(sample_index), with_tickets=False)


@pytest.mark.parametrize(
    "reply",
    [
        tool_reply("Move closer to your router or plug in a cable [2].", [2], True),
        text_reply(
            '{"answer": "Move closer to your router or plug in a cable [2].", "used_sources": [2], "sufficient": true}'
        ),
        text_reply("Move closer to your router or plug in a cable [2]."),
    ],
    ids=["tool-use", "json", "plain-text"],
)
def test_replies_are_parsed_and_citations_match_the_listed_sources(assistant, fake_bedrock, reply) -> None:
    fake_bedrock.script(reply)
    result = assistant.ask(VPN_Q)
    sent = fake_bedrock.converse_calls[-1].user_text
    second_title = sent.split('<source n="2">\ntitle: ', 1)[1].split("\n", 1)[0]
    assert result.decision == "answer"
    assert result.answer == "Move closer to your router or plug in a cable [1]."  # renumbered: only source 2 is cited
    assert [s.title for s in result.sources] == [second_title]


def test_plain_text_without_citations_lists_every_retrieved_source(assistant, fake_bedrock) -> None:
    fake_bedrock.script(text_reply("Try reconnecting to a different gateway."))
    result = assistant.ask(VPN_Q)
    assert result.decision == "answer" and len(result.sources) == fake_bedrock.converse_calls[-1].user_text.count(
        "<source n="
    )


def test_not_sufficient_verdict_forces_a_ticket(assistant, fake_bedrock) -> None:
    fake_bedrock.script(tool_reply("Our IT pages don't cover this part.", [1], False))
    result = assistant.ask(VPN_Q)
    assert result.decision == "ticket" and result.ticket_id
    assert result.answer == messages.TICKET_OPENED.format(ticket_id=result.ticket_id)
    ticket = assistant.desk.tickets.get(result.ticket_id)
    assert ticket.draft_answer == "Our IT pages don't cover this part." and ticket.reason == "low_confidence"


def test_throttling_is_retried_with_backoff_then_answers(assistant, fake_bedrock, clock) -> None:
    fake_bedrock.script(throttle(), throttle(), throttle())
    result = assistant.ask(VPN_Q)
    assert result.decision == "answer" and len(fake_bedrock.converse_calls) == 4
    assert len(clock.sleeps) == 3 and clock.sleeps[0] < clock.sleeps[2] and sum(clock.sleeps) <= 20


def test_each_throttle_is_counted_for_the_alarm_in_lambda(assistant, fake_bedrock, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "it-helpdesk-slack")
    fake_bedrock.script(throttle(), throttle())
    assert assistant.ask(VPN_Q).decision == "answer"
    emf = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    names = [e["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for e in emf]
    assert names == ["BedrockThrottles"] * 2 + ["BedrockInputTokens"]  # then the answer's input tokens
    tokens = emf[-1]["BedrockInputTokens"]
    assert (tokens[0] if isinstance(tokens, list) else tokens) > 0  # the usage the Converse reply reported


def test_endless_throttling_gives_a_polite_reply_and_a_ticket_within_20s(
    assistant, fake_bedrock, clock, caplog
) -> None:
    fake_bedrock.script(*[throttle()] * 100)
    start = clock.now
    with caplog.at_level(logging.WARNING):
        result = assistant.ask(VPN_Q)
    assert clock.now - start <= 20.0 and len(clock.sleeps) >= 3
    assert result.decision == "ticket" and result.ticket_id
    assert result.answer == messages.TROUBLE_ANSWERING.format(ticket_id=result.ticket_id)
    assert assistant.desk.tickets.get(result.ticket_id).reason == "error"
    assert any(r.levelno == logging.ERROR and MODEL in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (access_denied(), "bedrock:InvokeModel"),
        (FakeError("ResourceNotFoundException", 404, "Model not found."), "HELPDESK_BEDROCK_CHAT_MODEL"),
        (
            FakeError(
                "ValidationException", 400, "Invocation of model ID x with on-demand throughput isn't supported."
            ),
            "inference-profile",
        ),
    ],
)
def test_access_denied_or_missing_model_logs_the_model_and_iam_action(assistant, fake_bedrock, caplog, error, needle):
    fake_bedrock.script(error)
    with caplog.at_level(logging.INFO):
        result = assistant.ask("UNIQUE-QUESTION-7431 " + VPN_Q)
    assert len(fake_bedrock.converse_calls) == 1  # never retried
    assert result.decision == "ticket" and result.answer == messages.TROUBLE_ANSWERING.format(
        ticket_id=result.ticket_id
    )
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert (
        MODEL in record.getMessage() and needle in record.getMessage() and "bedrock:InvokeModel" in record.getMessage()
    )
    assert all("UNIQUE-QUESTION-7431" not in json.dumps(vars(r), default=str) for r in caplog.records)


def test_empty_and_oversize_model_output(assistant, fake_bedrock) -> None:
    fake_bedrock.script(text_reply(""))
    empty = assistant.ask(VPN_Q)
    assert empty.decision == "ticket" and empty.ticket_id
    fake_bedrock.script(tool_reply(("Restart the client and try again [1]. " * 400).strip(), [1], True))
    big = assistant.ask(VPN_Q)
    assert big.decision == "answer" and len(big.answer) <= MAX_ANSWER_CHARS
    assert big.answer.endswith(messages.ANSWER_SHORTENED)


def test_model_without_tool_use_is_asked_for_json(assistant, fake_bedrock) -> None:
    fake_bedrock.script(
        FakeError("ValidationException", 400, "This model doesn't support the toolConfig.toolChoice.tool field."),
        text_reply('{"answer": "Pick a gateway yourself [1].", "used_sources": [1], "sufficient": true}'),
    )
    result = assistant.ask(VPN_Q)
    first, second = fake_bedrock.converse_calls
    assert "toolConfig" in first.body and "toolConfig" not in second.body
    assert second.system.endswith(JSON_INSTRUCTION)
    assert result.decision == "answer" and result.answer == "Pick a gateway yourself [1]."


def test_no_question_text_in_info_logs_and_no_private_data_to_the_model(assistant, fake_bedrock, caplog) -> None:
    question = f"{VPN_Q} UNIQUE-QUESTION-9902 I'm ana.lima@northwind.example, token xoxb-2222-3333-abcdefghijkl"
    with caplog.at_level(logging.INFO):
        assistant.ask(question)
    body = json.dumps(fake_bedrock.converse_calls[-1].body)
    assert "ana.lima@" not in body and "xoxb-" not in body and "UNIQUE-QUESTION-9902" in body
    assert all("UNIQUE-QUESTION-9902" not in json.dumps(vars(r), default=str) for r in caplog.records)


class SpyRetriever:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.queries: list[str] = []

    def retrieve(self, query: str, k: int = 10):
        self.queries.append(query)
        return self.inner.retrieve(query, k)


HISTORY = [
    Turn("user", "how do I install GlobalProtect on my personal macbook?"),
    Turn("assistant", "You can't: GlobalProtect only runs on company laptops [1]."),
]


def test_follow_up_is_rewritten_by_the_model_and_the_answer_cites_sources(assistant, fake_bedrock) -> None:
    spy = assistant.retriever = SpyRetriever(assistant.retriever)
    fake_bedrock.script(text_reply("Can GlobalProtect VPN be installed on a personal Windows PC?"))
    result = assistant.ask("and on my windows pc?", history=HISTORY)
    rewrite, answer = fake_bedrock.converse_calls
    assert "standalone search query" in rewrite.system
    assert "employee: how do I install GlobalProtect on my personal macbook?" in rewrite.user_text
    assert "<follow_up>\nand on my windows pc?\n</follow_up>" in rewrite.user_text
    assert spy.queries == ["Can GlobalProtect VPN be installed on a personal Windows PC?"]
    assert "<conversation>" in answer.user_text and "<question>\nand on my windows pc?\n</question>" in answer.user_text
    assert result.decision == "answer" and "[1]" in result.answer and result.sources


def test_follow_up_rewrite_failure_falls_back_to_the_local_rewrite(assistant, fake_bedrock) -> None:
    spy = assistant.retriever = SpyRetriever(assistant.retriever)
    fake_bedrock.script(access_denied())
    result = assistant.ask("and on my windows pc?", history=HISTORY)
    assert spy.queries == [f"{HISTORY[0].text} and on my windows pc?"]
    assert result.decision == "answer" and result.sources


def _rates(rows, results) -> tuple[float, float]:
    covered = [r.decision == "ticket" for row, r in zip(rows, results, strict=True) if row["gold_page_ids"]]
    uncovered = [r.decision == "ticket" for row, r in zip(rows, results, strict=True) if not row["gold_page_ids"]]
    return sum(covered) / len(covered), sum(uncovered) / len(uncovered)


def test_gate_turns_the_projects_uncovered_questions_into_tickets(sample_index, fake_bedrock, monkeypatch) -> None:
    monkeypatch.setenv("HELPDESK_ANSWERER", "bedrock")
    assistant = build_assistant(Settings.from_env(), str(sample_index), with_tickets=False)
    rows = [json.loads(line) for line in SAMPLE_QUESTIONS.read_text().splitlines() if line.strip()]
    uncovered = {row["question"] for row in rows if not row["gold_page_ids"]}

    # Worst case: a model that always claims the sources suffice. The retrieval gate alone still catches them.
    gullible = [assistant.ask(row["question"], open_ticket=False) for row in rows]
    covered_rate, uncovered_rate = _rates(rows, gullible)
    assert uncovered_rate >= 0.89 and covered_rate <= 0.09  # measured 0.921 and 0.085 (docs/decisions/0017)
    calls = len(fake_bedrock.converse_calls)
    assert calls < len(rows)  # hopeless retrievals never reach the model

    # A model that says "not sufficient" on the uncovered ones: every one becomes a ticket, covered ones unchanged.
    def honest(call: Call):
        question = call.user_text.split("<question>\n", 1)[1].split("\n</question>", 1)[0]
        return tool_reply("Our IT pages don't cover this.", [], False) if question in uncovered else None

    fake_bedrock.model = lambda call: honest(call) or tool_reply("See the page [1].", [1], True)
    careful = [assistant.ask(row["question"], open_ticket=False) for row in rows]
    assert _rates(rows, careful) == (covered_rate, 1.0)


def test_unreachable_endpoint_is_retried_within_the_budget_then_answers_politely(assistant, clock, monkeypatch) -> None:
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"http://127.0.0.1:{port}")
    start = clock.now
    result = assistant.ask(VPN_Q)
    assert result.decision == "ticket" and result.answer == messages.TROUBLE_ANSWERING.format(
        ticket_id=result.ticket_id
    )
    assert len(clock.sleeps) >= 3 and clock.now - start <= 20.0
