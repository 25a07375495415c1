"""The shape check on signed Slack payloads (pure): every real payload shape passes, odd ones are named."""

import json
from pathlib import Path

import pytest

from assistant.slack.shape import MAX_DEPTH, depth_exceeds, shape_problem

EVENTS = Path(__file__).parents[1] / "events" / "slack"


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.json") if p.name != "slash_command.json"))
def test_every_payload_shape_slack_sends_passes(name: str) -> None:
    assert shape_problem(json.loads((EVENTS / name).read_text(encoding="utf-8"))) is None


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"type": "event_callback", "event": "app_mention"}, "event must be an object, not str"),
        ({"type": "event_callback", "event": {"type": "message", "text": 5}}, "event.text must be a string"),
        ({"type": "event_callback", "event": {"type": "message"}, "authorizations": "x"}, "authorizations"),
        ({"type": "block_actions", "actions": None}, "actions must be a non-empty list"),
        ({"type": "block_actions", "actions": [{"action_id": 1}]}, "actions[0].action_id must be a string"),
        ({"type": "block_actions", "user": "U1", "actions": [{"action_id": "a"}]}, "user must be an object"),
        ({"type": "view_submission", "view": "V1"}, "view must be an object"),
    ],
)
def test_odd_shapes_are_named(payload: dict, named: str) -> None:
    assert named in (shape_problem(payload) or "")


def test_depth_is_measured_without_recursion() -> None:
    deep: list = []
    node = deep
    for _ in range(10_000):
        node.append([])
        node = node[0]
    assert depth_exceeds(deep) and not depth_exceeds([[{"a": [1]}]])
    assert shape_problem({"type": "block_actions", "x": deep}) == f"body is nested more than {MAX_DEPTH} levels deep"
