"""TitanEmbedder with the real boto3 client against the local bedrock-runtime fake (AWS_ENDPOINT_URL_*)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fakes.clock import FakeClock
from fakes.titan import NOT_ENABLED, TitanFake
from support import page_object, write_export

from helpdesk.settings import Settings
from index_store.local import LocalIndexStore
from ingest.config import EmbedderConfig
from ingest.embedders.bedrock import TitanEmbedder
from ingest.exceptions import EmbeddingAccessDenied, EmbeddingError
from ingest.pipeline import IngestOptions, run_ingest
from ingest.sources.export import ExportSource

TEXTS = [f"How do I reset my password for system {i}?" for i in range(20)]


def titan(clock: FakeClock | None = None, **kw) -> TitanEmbedder:
    clock = clock or FakeClock()
    return TitanEmbedder(sleep=clock.sleep, rng=lambda: 1.0, **kw)


@pytest.mark.parametrize("dims", [256, 512, 1024])
def test_embeds_normalised_vectors_of_the_configured_dimension(bedrock: TitanFake, dims: int) -> None:
    emb = titan(dimensions=dims)
    out = emb.embed_documents(TEXTS)
    assert out.shape == (20, dims) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert all(
        r == {"inputText": t, "dimensions": dims, "normalize": True}
        for r, t in zip(sorted(bedrock.requests, key=lambda r: r["inputText"]), sorted(TEXTS), strict=True)
    )
    assert bedrock.models == {"amazon.titan-embed-text-v2:0"} and bedrock.signed
    assert emb.embedder_id == "bedrock/amazon.titan-embed-text-v2:0" and emb.dimension == dims
    q = emb.embed_query("How do I reset my password for system 3?")
    assert int(np.argmax(out @ q)) == 3


def test_configured_model_id_is_the_one_called(bedrock: TitanFake) -> None:
    titan(model_id="amazon.titan-embed-text-v2:0-custom").embed_query("hello")
    assert bedrock.models == {"amazon.titan-embed-text-v2:0-custom"}


def test_generic_endpoint_setting_is_honoured(bedrock: TitanFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    monkeypatch.setenv("AWS_ENDPOINT_URL", bedrock.url)
    titan().embed_query("hello")
    assert bedrock.calls == 1


def test_throttling_sequence_is_retried_with_backoff(bedrock: TitanFake) -> None:
    bedrock.script(
        ["ThrottlingException", "ThrottlingException", "ServiceUnavailableException", "ModelTimeoutException"]
    )
    clock = FakeClock()
    emb = titan(clock, concurrency=1)
    out = emb.embed_documents(TEXTS[:3])
    assert out.shape == (3, 256)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]  # exponential, capped, jittered (rng fixed at the top)
    snap = emb.stats.snapshot()
    assert (snap.calls, snap.retries, snap.throttles) == (3, 4, 2) and bedrock.errors_sent == 4


def test_on_the_answering_path_each_throttle_is_counted_for_the_alarm(
    bedrock: TitanFake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from helpdesk.factory import build_embedder

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "it-helpdesk-slack")
    bedrock.script(["ThrottlingException", "ThrottlingException"])
    emb = build_embedder(Settings(embedder=EmbedderConfig(kind="bedrock")), for_queries=True)
    emb.sleep = FakeClock().sleep
    assert emb.embed_query("vpn keeps dropping").shape == (256,)
    emf = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert [e["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for e in emf] == ["BedrockThrottles"] * 2
    assert emb.max_attempts == 4  # a user is waiting: bounded retries


def test_throttling_that_never_ends_stops_with_advice(bedrock: TitanFake) -> None:
    bedrock.deny_all("ThrottlingException")
    clock = FakeClock()
    with pytest.raises(EmbeddingError, match="HELPDESK_EMBED_CONCURRENCY"):
        titan(clock, max_attempts=4).embed_query("x")
    assert len(clock.sleeps) == 3 and bedrock.errors_sent == 4


def test_access_denied_stops_at_once_naming_model_and_iam_action(bedrock: TitanFake) -> None:
    bedrock.deny_all("AccessDeniedException")
    clock = FakeClock()
    with pytest.raises(EmbeddingAccessDenied) as info:
        titan(clock).embed_documents(TEXTS)
    assert "amazon.titan-embed-text-v2:0" in str(info.value) and "bedrock:InvokeModel" in str(info.value)
    assert clock.sleeps == [] and bedrock.errors_sent <= 8  # the pool stops; nothing is retried


def test_model_not_enabled_says_so(bedrock: TitanFake) -> None:
    bedrock.deny_all("AccessDeniedException", NOT_ENABLED)
    with pytest.raises(EmbeddingAccessDenied, match=r"not enabled.*Model access.*bedrock:InvokeModel"):
        titan().embed_query("x")


def test_unknown_model_is_a_clear_error(bedrock: TitanFake) -> None:
    bedrock.deny_all("ResourceNotFoundException")
    with pytest.raises(EmbeddingError, match="HELPDESK_BEDROCK_EMBED_MODEL"):
        titan().embed_query("x")


def test_concurrency_is_bounded(bedrock: TitanFake) -> None:
    bedrock.latency = 0.02
    emb = titan(concurrency=3)
    emb.embed_documents([f"text {i}" for i in range(60)])
    assert 1 < bedrock.max_in_flight <= 3 and bedrock.calls == 60


def test_ingest_summary_reports_calls_and_tokens(bedrock: TitanFake, tmp_path: Path) -> None:
    pages = [page_object(str(i), f"Guide {i}", f"<h2>Steps</h2><p>Open the tool number {i}.</p>") for i in range(12)]
    emb = titan()
    s = run_ingest(ExportSource(write_export(tmp_path / "e", pages)), emb, LocalIndexStore(tmp_path / "i"))
    out = s.to_json()
    assert out["embed_calls"] == out["chunks_embedded"] == bedrock.calls == 12
    assert out["embed_input_tokens"] == bedrock.tokens > 0 and out["embed_retries"] == 0
    again = run_ingest(ExportSource(tmp_path / "e"), emb, LocalIndexStore(tmp_path / "i")).to_json()
    assert again["embed_calls"] == again["chunks_embedded"] == 0 and bedrock.calls == 12


def test_access_denied_during_ingest_publishes_nothing(bedrock: TitanFake, tmp_path: Path) -> None:
    store = LocalIndexStore(tmp_path / "i")
    pages = [page_object("1", "One", "<p>First page.</p>")]
    run_ingest(ExportSource(write_export(tmp_path / "e", pages)), titan(), store)
    version = store.current_version()
    bedrock.deny_all("AccessDeniedException")
    pages.append(page_object("2", "Two", "<p>Second page.</p>"))
    with pytest.raises(EmbeddingAccessDenied):
        run_ingest(ExportSource(write_export(tmp_path / "e", pages)), titan(), store, IngestOptions())
    assert store.current_version() == version


def test_factory_selects_titan_from_settings(bedrock: TitanFake) -> None:
    from helpdesk.factory import build_embedder

    settings = Settings.from_env(
        {"HELPDESK_EMBEDDER": "bedrock", "HELPDESK_EMBED_DIMENSIONS": "512", "HELPDESK_EMBED_CONCURRENCY": "4"}
    )
    emb = build_embedder(settings)
    assert isinstance(emb, TitanEmbedder) and (emb.dimension, emb.concurrency) == (512, 4)
    assert json.loads(json.dumps(emb.embed_query("x").tolist())) and bedrock.calls == 1
