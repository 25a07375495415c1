"""Stand-ins for the production ingest tests: Confluence and bedrock-runtime fakes, moto for S3 and Secrets Manager."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.clock import FakeClock
from fakes.confluence import ConfluenceFake
from fakes.moto_server import MotoServer
from fakes.titan import TitanFake


@pytest.fixture
def confluence() -> Iterator[ConfluenceFake]:
    with ConfluenceFake() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[TitanFake]:
    with TitanFake() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        yield fake


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """S3 and Secrets Manager on moto's server, reached through botocore's standard endpoint settings."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_server.url)
    yield moto_server


@pytest.fixture
def bucket(aws: MotoServer) -> str:
    import boto3

    boto3.client("s3").create_bucket(Bucket="helpdesk-index")
    return "helpdesk-index"
