"""Shared set-up for the Slack benchmarks: the fake Slack Web API from tests/fakes, signed events, percentiles."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from fakes.slack_api import TOKEN, FakeSlackApi  # noqa: E402
from fakes.slack_requests import SECRET, action_body, action_event, command_event, event_body, json_event  # noqa: E402

__all__ = [
    "SECRET",
    "TOKEN",
    "FakeSlackApi",
    "action_body",
    "action_event",
    "command_event",
    "event_body",
    "json_event",
    "mixed_events",
    "percentile",
    "quiet_logging",
]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def mixed_events(n: int, response_url: str = "") -> list[dict]:
    """`n` signed API Gateway events, round-robin: mention, DM, /helpdesk question, button, ignored bot message."""
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            out.append(
                json_event(event_body("app_mention.json", text=f"<@U0BOT0001> how do I connect to the VPN {i}?"))
            )
        elif kind == 1:
            out.append(json_event(event_body("message_im.json", text=f"printer question {i}")))
        elif kind == 2:
            out.append(command_event(f"how do I reset my MFA {i}?", response_url=response_url))
        elif kind == 3:
            out.append(action_event(action_body("helpdesk_helpful", f"ref{i:020d}")))
        else:
            out.append(json_event(event_body("message_bot.json")))
    return out


@contextlib.contextmanager
def quiet_logging():
    """Route the JSON log lines to /dev/null while still formatting them (their cost is part of the ack)."""
    devnull = open(os.devnull, "w")  # noqa: SIM115  # kept open: the log handler writes to it for the process's life
    with contextlib.redirect_stdout(devnull):
        from helpdesk.slack_runtime import configure_logging  # the logger is built, on stdout, at this import

        configure_logging()
    yield
