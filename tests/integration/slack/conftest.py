"""The Slack app end to end in-process: signed API Gateway events through `handler.lambda_handler`, the real
slack_sdk WebClient talking to a fake Slack Web API on 127.0.0.1, and lazy listeners really running (on threads)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.assistant import FakeAssistant
from fakes.lambda_context import LambdaContext
from fakes.slack_api import ALICE, BOB, IVY, TOKEN, FakeSlackApi
from fakes.slack_requests import SECRET

import handler
from assistant.mail.outbox import OutboxMailer
from assistant.slack.lazy import ThreadedLazyRunner
from assistant.slack.store import SqliteSlackStore
from assistant.tickets.sqlite import SqliteTicketStore
from helpdesk import slack_lambda as aws
from helpdesk.settings import Settings
from helpdesk.slack_runtime import SlackRuntime, build_runtime


@dataclass
class SlackHarness:
    fake: FakeSlackApi
    runtime: SlackRuntime
    runner: ThreadedLazyRunner
    assistant: Any
    state: SqliteSlackStore
    tickets: SqliteTicketStore
    outbox: Path

    def send(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """One request through the Lambda entry point; returns the HTTP response (the ack)."""
        return handler.lambda_handler(event, context if context is not None else LambdaContext())

    def deliver(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Send, then wait for the lazy work it started."""
        response = self.send(event, context)
        self.drain()
        return response

    def drain(self) -> None:
        assert self.runner.drain(30), "lazy listeners did not finish"

    def answers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Bot messages that carry an answer (feedback buttons or a ticket's resolve button), as they stand now."""
        return [
            m
            for m in self.fake.bot_messages(channel)
            if any(b.get("block_id") in ("helpdesk_answer_actions", "helpdesk_ticket_actions") for b in m["blocks"])
        ]


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        fake.add_user(ALICE, "Alice Example", "alice@example.com")
        fake.add_user(BOB, "Bob Example")  # no email on his profile
        fake.add_user(IVY, "Ivy Tech", "ivy@example.com")
        fake.groups["S0ITGROUP"] = [IVY]
        yield fake


@pytest.fixture
def make_slack(
    slack_api: FakeSlackApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., SlackHarness]]:
    built: list[SlackHarness] = []

    def make(assistant_factory: Callable[..., Any] | None = None, **env: str) -> SlackHarness:
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_API_URL", slack_api.api_url.rstrip("/"))  # with or without the slash
        monkeypatch.setenv("HELPDESK_IT_GROUP", "S0ITGROUP")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings.from_env()
        tickets = SqliteTicketStore(tmp_path / f"tickets{len(built)}.sqlite3")
        outbox = tmp_path / f"outbox{len(built)}"
        assistant = (assistant_factory or FakeAssistant)(tickets, OutboxMailer(outbox))
        state = SqliteSlackStore(tmp_path / f"slack{len(built)}.sqlite3")
        runner = ThreadedLazyRunner(max_workers=4)
        runtime = build_runtime(
            settings,
            store=state,
            assistant=lambda: assistant,
            desk=lambda: assistant,
            lazy_runner=runner,
            sleep=lambda _s: None,
        )
        aws.set_runtime(runtime)
        harness = SlackHarness(slack_api, runtime, runner, assistant, state, tickets, outbox)
        built.append(harness)
        return harness

    yield make
    aws.set_runtime(None)
    for h in built:
        h.runner.shutdown(5)


@pytest.fixture
def slack(make_slack: Callable[..., SlackHarness]) -> SlackHarness:
    return make_slack()
