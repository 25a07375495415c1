"""Fixtures for the Bedrock answerer tests: the local bedrock-runtime fake, reached through botocore's endpoint env."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.bedrock import FakeBedrock

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


class FakeClock:
    """`clock` and `sleep` for retry code: sleeping only moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", fake.url)
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
