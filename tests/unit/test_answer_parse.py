"""Reading Converse replies: tool use, JSON, plain text, and the odd ones (pure)."""

import pytest
from fakes.bedrock import text_reply, tool_reply

from assistant import messages
from assistant.answerers.parse import MAX_ANSWER_CHARS, parse_answer, parse_rewrite
from assistant.model import Source


def sources(n: int = 3) -> list[Source]:
    return [Source(i, str(i), f"Page {i}", f"https://w/{i}", (), "text", 1.0) for i in range(1, n + 1)]


def test_tool_use_reply() -> None:
    a = parse_answer(tool_reply("Restart GlobalProtect [1], then check Wi-Fi [3].", [1, 3], True), sources())
    assert a.text == "Restart GlobalProtect [1], then check Wi-Fi [3]."
    assert a.used_sources == [1, 3] and a.sufficient is True
    assert a.input_tokens == 900 and a.output_tokens == 60


def test_tool_use_with_loose_types() -> None:
    a = parse_answer(tool_reply("See [2].", ["2", "[1]", "x", 9], "false"), sources())
    assert a.used_sources == [1, 2] and a.sufficient is False


def test_tool_use_without_used_sources_takes_them_from_the_text() -> None:
    a = parse_answer(tool_reply("Do this [2] and that [1, 3].", None, True), sources())
    assert a.used_sources == [1, 2, 3]


def test_json_reply_in_text_and_in_a_code_fence() -> None:
    bare = text_reply('{"answer": "Use PaperCut [1].", "used_sources": [1], "sufficient": true}')
    fenced = text_reply(
        'Here you go:\n```json\n{"answer": "Use PaperCut [1].", "used_sources": [1], "sufficient": true}\n```'
    )
    for reply in (bare, fenced):
        a = parse_answer(reply, sources())
        assert (a.text, a.used_sources, a.sufficient) == ("Use PaperCut [1].", [1], True)


def test_plain_text_still_gives_an_answer_with_its_citations() -> None:
    a = parse_answer(text_reply("Release the job at any printer with your badge [2]."), sources())
    assert a.text == "Release the job at any printer with your badge [2]." and a.used_sources == [2]
    assert a.sufficient is None


@pytest.mark.parametrize(
    "text",
    [
        "Our IT pages don't cover parking.",
        "The sources do not mention how to claim expenses.",
        "There is no information about pensions in the knowledge base.",
    ],
)
def test_plain_text_saying_not_covered_is_not_sufficient(text: str) -> None:
    assert parse_answer(text_reply(text), sources()).sufficient is False


def test_citations_to_missing_sources_are_removed() -> None:
    a = parse_answer(tool_reply("Restart [1]. Reinstall [7]. Both [2, 9].", [1, 7], True), sources())
    assert a.text == "Restart [1]. Reinstall. Both [2]." and a.used_sources == [1, 2]


@pytest.mark.parametrize(
    "reply",
    [
        text_reply(""),
        {"output": {"message": {"content": []}}, "stopReason": "end_turn"},
        {"output": None},
        {},
        {"output": {"message": {"content": [{"toolUse": {"name": "submit_answer", "input": {"answer": 3}}}]}}},
        {"output": {"message": {"content": "not a list"}}},
    ],
)
def test_empty_or_malformed_output_gives_an_empty_unsure_answer(reply: dict) -> None:
    a = parse_answer(reply, sources())
    assert a.text == "" and a.used_sources == [] and a.sufficient is False


def test_oversize_output_is_cut_at_a_boundary_and_marked() -> None:
    long = "\n\n".join(f"Step {i}: do the thing number {i} carefully [1]." for i in range(400))
    a = parse_answer(tool_reply(long, [1], True), sources())
    assert len(a.text) <= MAX_ANSWER_CHARS and a.text.endswith(messages.ANSWER_SHORTENED)
    assert "carefully [1]. " + messages.ANSWER_SHORTENED in a.text


def test_reply_cut_by_max_tokens_is_marked() -> None:
    a = parse_answer(text_reply("First restart the client [1]. Then", stop="max_tokens"), sources())
    assert a.text.endswith(messages.ANSWER_SHORTENED) and a.used_sources == [1]


def test_guardrail_intervention_is_not_sufficient() -> None:
    a = parse_answer(text_reply("Sorry, I can't help with that.", stop="guardrail_intervened"), sources())
    assert a.sufficient is False and a.text


def test_tool_input_given_as_a_json_string() -> None:
    reply = {
        "output": {
            "message": {
                "content": [
                    {"toolUse": {"name": "submit_answer", "input": '{"answer": "Yes [1].", "sufficient": true}'}}
                ]
            }
        }
    }
    a = parse_answer(reply, sources())
    assert (a.text, a.used_sources, a.sufficient) == ("Yes [1].", [1], True)


def test_rewrite_reply() -> None:
    assert parse_rewrite(text_reply('Query: "install GlobalProtect on Windows"\n'), "fb") == (
        "install GlobalProtect on Windows"
    )
    assert parse_rewrite(text_reply(""), "fallback query") == "fallback query"
    assert len(parse_rewrite(text_reply("x" * 5000), "fb")) == 300
