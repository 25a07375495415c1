"""Per-answer EMF metrics of the interaction log, in Lambda (the names the knowledge dashboard reads)."""

from __future__ import annotations

import json

from fakes.clock import FakeClock

from assistant.interactions.log import InteractionLog


class MemoryStore:
    def __init__(self) -> None:
        self.items: dict = {}

    def record(self, interaction) -> None:
        self.items[interaction.interaction_id] = interaction

    def set_vote(self, interaction_id: str, vote: str) -> bool:
        if interaction_id not in self.items:
            return False
        self.items[interaction_id].vote = vote
        return True

    def since(self, start, *, now):
        return list(self.items.values())


def _emitted(out: str) -> dict[str, float]:
    figures = {}
    for line in out.strip().splitlines():
        data = json.loads(line)
        cw = data["_aws"]["CloudWatchMetrics"][0]
        assert cw["Namespace"] == "ITHelpdesk" and data["service"] == "it-helpdesk"
        for metric in cw["Metrics"]:
            value = data[metric["Name"]]
            figures[metric["Name"]] = value[0] if isinstance(value, list) else value
            if metric["Name"] == "AnswerLatency":
                assert metric["Unit"] == "Milliseconds"
    return figures


def test_each_answer_and_each_vote_emits_its_metrics_in_lambda(monkeypatch, capsys):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "it-helpdesk-worker")
    log = InteractionLog(MemoryStore(), clock=FakeClock().utc)

    log.record(origin="dm", question="vpn?", decision="answer", interaction_id="r1", latency_ms=812.4)
    assert _emitted(capsys.readouterr().out) == {"Questions": 1, "Answered": 1, "AnswerLatency": 812.4}
    log.record(origin="channel", question="pension?", decision="ticket", latency_ms=95.0)
    assert _emitted(capsys.readouterr().out) == {"Questions": 1, "Tickets": 1, "AnswerLatency": 95.0}
    assert log.vote("r1", "helpful") is True
    assert _emitted(capsys.readouterr().out) == {"Helpful": 1}
    log.vote("r1", "not_helpful")
    assert _emitted(capsys.readouterr().out) == {"NotHelpful": 1}


def test_outside_lambda_nothing_is_printed(capsys):
    InteractionLog(MemoryStore()).record(origin="cli", question="q", decision="ticket", latency_ms=3.0)
    assert capsys.readouterr().out == ""
