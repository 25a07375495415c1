"""The shape of a signed Slack payload, checked before anything reads it (pure).

A valid signature proves who sent a body, not that its fields have the types Slack documents; Bolt and our
listeners index into them freely. `shape_problem` names the first field of the wrong type (or a body nested
deeper than any Slack payload), so the gateway answers 400 instead of failing inside Bolt with a 500 that Slack
would redeliver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 64  # Slack's deepest payloads (rich-text blocks inside a message inside an event) are about 15 deep

# Top-level objects in interactivity payloads; `None` is allowed where Slack sends null (team, enterprise).
_OBJECTS = ("team", "user", "channel", "container", "message", "view", "enterprise", "state")
_EVENT_TEXT = ("type", "subtype", "text", "channel", "channel_type", "ts", "thread_ts", "event_ts", "bot_id", "tab")
_EVENT_OBJECTS = ("message", "previous_message", "view", "edited")


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/dicts nest deeper than `limit` (iterative: no recursion on hostile input)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _wrong(where: str, expected: str, value: Any) -> str:
    return f"{where} must be {expected}, not {type(value).__name__}"


def _check_text(obj: Mapping[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            return _wrong(f"{where}.{key}", "a string", value)
    return None


def _check_objects(obj: Mapping[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if value is not None and not isinstance(value, dict):
            return _wrong(f"{where}.{key}" if where else key, "an object", value)
    return None


def _event_problem(payload: Mapping[str, Any]) -> str | None:
    event = payload.get("event")
    if not isinstance(event, dict):
        return _wrong("event", "an object", event)
    if not isinstance(event.get("type"), str):
        return _wrong("event.type", "a string", event.get("type"))
    if problem := _check_text(event, _EVENT_TEXT, "event") or _check_objects(event, _EVENT_OBJECTS, "event"):
        return problem
    user = event.get("user")
    if user is not None and not isinstance(user, str | dict):
        return _wrong("event.user", "a string or an object", user)
    authorizations = payload.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations must be a list of objects"
    return _check_text(payload, ("team_id", "api_app_id", "event_id", "enterprise_id"), "payload")


def _actions_problem(payload: Mapping[str, Any]) -> str | None:
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        return "actions must be a non-empty list"
    for i, action in enumerate(actions):
        if not isinstance(action, dict):
            return _wrong(f"actions[{i}]", "an object", action)
        if not isinstance(action.get("action_id"), str):
            return _wrong(f"actions[{i}].action_id", "a string", action.get("action_id"))
        if problem := _check_text(action, ("value", "block_id", "type", "action_ts"), f"actions[{i}]"):
            return problem
    return None


def shape_problem(payload: Mapping[str, Any]) -> str | None:
    """What is wrong with a parsed JSON or `payload=` body, or None. Slash-command forms hold only strings."""
    if depth_exceeds(payload):
        return f"body is nested more than {MAX_DEPTH} levels deep"
    kind = payload.get("type")
    if kind == "event_callback":
        return _event_problem(payload)
    if problem := _check_objects(payload, _OBJECTS, ""):
        return problem
    if problem := _check_text(payload, ("trigger_id", "response_url", "callback_id", "api_app_id"), "payload"):
        return problem
    if kind == "block_actions":
        return _actions_problem(payload)
    if kind in ("view_submission", "view_closed") and not isinstance(payload.get("view"), dict):
        return _wrong("view", "an object", payload.get("view"))
    return None
