"""The scheduled Lambda: Secrets Manager and S3 on moto, live Confluence and Bedrock on local fakes."""

from __future__ import annotations

import json

import boto3
import pytest
from fakes.confluence import ConfluenceFake, load_export_into
from fakes.lambda_context import LambdaContext
from fakes.titan import TitanFake
from support import SAMPLE_EXPORT

import handler
from core.retry import RetryPolicy
from index_store.s3 import S3IndexStore
from ingest import job
from ingest.exceptions import ConfluenceUnavailable, SourceError

CONTEXT = LambdaContext(
    function_name="helpdesk-ingest", invoked_function_arn="arn:aws:lambda:::function:helpdesk-ingest"
)


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, bucket: str, confluence: ConfluenceFake, bedrock: TitanFake, tmp_path
) -> dict:
    job.secrets_provider.cache_clear()
    monkeypatch.delenv("HELPDESK_EMBEDDER", raising=False)  # as on Lambda: the scheduled job defaults to Titan
    secret = boto3.client("secretsmanager").create_secret(
        Name="helpdesk/confluence", SecretString=json.dumps({"user": confluence.user, "token": confluence.token})
    )
    env = {
        "HELPDESK_INDEX": f"s3://{bucket}/kb",
        "HELPDESK_INDEX_CACHE_DIR": str(tmp_path / "lambda-tmp"),
        "CONFLUENCE_URL": confluence.url,
        "CONFLUENCE_SPACES": "IT",
        "CONFLUENCE_SECRET_ARN": secret["ARN"],
        "CONFLUENCE_RETRY_BUDGET_SECONDS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    load_export_into(confluence, SAMPLE_EXPORT)
    return env


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_scheduled_run_indexes_with_bedrock_logs_one_summary_and_emits_metrics(
    lambda_env: dict, bedrock: TitanFake, capsys: pytest.CaptureFixture
) -> None:
    result = handler.ingest_handler({}, CONTEXT)
    assert result["pages_seen"] == 49 and result["chunks_embedded"] == bedrock.calls > 100
    assert result["embed_calls"] == bedrock.calls and result["mode"] == "incremental"
    out = lines(capsys.readouterr().out)
    summaries = [x for x in out if x.get("message") == "ingest summary"]
    assert len(summaries) == 1 and summaries[0]["level"] == "INFO" and summaries[0]["request_id"] == "req-1"
    assert summaries[0]["pages_changed"] == 48 and summaries[0]["index_version"] == result["index_version"]
    emf = [x for x in out if "_aws" in x]
    names = {m["Name"] for x in emf for d in x["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"PagesChanged", "ChunksEmbedded", "DurationSeconds", "Failures"} <= names
    assert emf[0]["ChunksEmbedded"] == [result["chunks_embedded"]] and emf[0]["Failures"] == [0]
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ITHelpdesk" and emf[0]["service"] == "it-helpdesk"
    assert "BedrockThrottles" not in emf[0]
    assert "fake-token" not in json.dumps(out)
    bundle = S3IndexStore(lambda_env["HELPDESK_INDEX"], cache_dir=lambda_env["HELPDESK_INDEX_CACHE_DIR"]).load()
    assert bundle.embedder_id == "bedrock/amazon.titan-embed-text-v2:0" and bundle.dimension == 256


def test_unchanged_second_run_embeds_nothing_and_full_event_sweeps(
    lambda_env: dict, bedrock: TitanFake, confluence: ConfluenceFake
) -> None:
    first = handler.ingest_handler({}, CONTEXT)
    calls = bedrock.calls
    again = handler.ingest_handler({}, CONTEXT)
    assert again["chunks_embedded"] == 0 and bedrock.calls == calls and again["listing"] == "incremental"
    confluence.delete("100102")
    full = handler.ingest_handler({"full": True}, CONTEXT)
    assert full["mode"] == "full" and full["listing"] == "full" and full["pages_deleted"] == 1
    assert full["chunks_embedded"] == 0 and full["index_version"] != first["index_version"]


def test_secret_is_read_once_per_cold_start(lambda_env: dict) -> None:
    handler.ingest_handler({}, CONTEXT)
    boto3.client("secretsmanager").put_secret_value(SecretId=lambda_env["CONFLUENCE_SECRET_ARN"], SecretString="{}")
    handler.ingest_handler({}, CONTEXT)  # still the cached credentials
    job.secrets_provider.cache_clear()  # a cold start
    with pytest.raises(SourceError, match='has no "token"'):
        handler.ingest_handler({}, CONTEXT)


def test_confluence_unreachable_fails_loudly_and_the_last_index_keeps_serving(
    lambda_env: dict, confluence: ConfluenceFake, capsys: pytest.CaptureFixture
) -> None:
    first = handler.ingest_handler({}, CONTEXT)
    capsys.readouterr()
    confluence.down = True
    with pytest.raises(ConfluenceUnavailable):
        handler.ingest_handler({}, CONTEXT)
    out = lines(capsys.readouterr().out)
    errors = [x for x in out if x.get("level") == "ERROR"]
    assert len(errors) == 1 and errors[0]["alarm"] == "helpdesk-ingest-failed"
    assert errors[0]["error_type"] == "ConfluenceUnavailable" and errors[0]["serving_version"] == first["index_version"]
    assert [x["Failures"] for x in out if "_aws" in x] == [[1]]
    reader = S3IndexStore(lambda_env["HELPDESK_INDEX"], cache_dir=lambda_env["HELPDESK_INDEX_CACHE_DIR"])
    assert reader.load().version == first["index_version"]


def test_bad_secret_names_the_missing_permission(lambda_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFLUENCE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf")
    with pytest.raises(SourceError, match="secretsmanager:GetSecretValue"):
        handler.ingest_handler({}, CONTEXT)


def test_parse_secret_accepts_server_tokens_without_user() -> None:
    assert job.parse_secret('{"token": " pat "}', "arn") == ("", "pat")
    with pytest.raises(SourceError, match="not JSON"):
        job.parse_secret("token=abc", "arn")


def test_missing_index_location_is_a_configuration_failure(
    lambda_env: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from helpdesk.settings import SettingsError

    monkeypatch.delenv("HELPDESK_INDEX")
    with pytest.raises(SettingsError, match="HELPDESK_INDEX"):
        handler.ingest_handler({}, CONTEXT)
    out = lines(capsys.readouterr().out)
    assert [x["alarm"] for x in out if x.get("level") == "ERROR"] == ["helpdesk-ingest-failed"]


def test_titan_throttling_is_counted_for_the_bedrock_alarm(
    lambda_env: dict, bedrock: TitanFake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ITHelpdesk")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "it-helpdesk")
    monkeypatch.setattr("ingest.embedders.bedrock.TitanEmbedder.retry", RetryPolicy(max_attempts=8, cap_s=0.0))
    bedrock.script(["ThrottlingException"] * 3 + ["ServiceUnavailableException"])
    result = handler.ingest_handler({"full": False}, CONTEXT)
    assert result["embed_throttles"] == 3 and result["embed_retries"] == 4 and result["mode"] == "incremental"
    emf = [x for x in lines(capsys.readouterr().out) if "_aws" in x]
    assert emf[0]["BedrockThrottles"] == [3] and emf[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert emf[0]["service"] == "it-helpdesk"
