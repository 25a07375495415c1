"""Fixtures for the Bedrock answerer tests: the local bedrock-runtime fake, reached through botocore's endpoint env."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.bedrock import FakeBedrock
from fakes.clock import FakeClock


@pytest.fixture
def fake_bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", fake.url)
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
