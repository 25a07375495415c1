"""The pure parts of production ingest: CQL, links, retry delays, state planning, pointers, Titan bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from helpdesk.settings import Settings, SettingsError
from index_store.exceptions import IndexCorrupt, IndexStoreError
from index_store.s3 import encode_pointer, parse_pointer, parse_s3_url
from ingest.embedders.bedrock import build_request, fatal_message, parse_response
from ingest.exceptions import EmbeddingError
from ingest.export import filter_restricted
from ingest.sources.confluence import build_cql, page_from_result, validate_spaces
from ingest.sources.confluence_http import RetryPolicy, backoff_delay, next_url, retry_after_seconds
from ingest.state import IngestState, advance_watermark, plan_listing

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_cql_lists_spaces_types_and_orders_by_lastmodified() -> None:
    assert build_cql(["IT", "HR"]) == 'space in ("IT","HR") AND type = page ORDER BY lastmodified'
    cql = build_cql(["IT"], since="2026-03-11T12:34:56.000Z", extra='label = "kb"')
    assert cql == (
        'space in ("IT") AND type = page AND (label = "kb") AND lastmodified >= "2026-03-10 12:34" '
        "ORDER BY lastmodified"
    )
    assert build_cql(["IT"], since="2026-03-11T14:00:00+02:00").count('"2026-03-10 12:00"') == 1


def test_space_keys_are_validated_not_injected() -> None:
    assert validate_spaces(["IT", " HR ", "IT", "~jdoe"]) == ("IT", "HR", "~jdoe")
    with pytest.raises(SettingsError, match="not a Confluence space key"):
        validate_spaces(['IT") OR space = "SECRET'])
    with pytest.raises(SettingsError, match="CONFLUENCE_SPACES"):
        validate_spaces([])


@pytest.mark.parametrize(
    ("links", "current", "expected"),
    [
        (
            {
                "base": "https://acme.atlassian.net/wiki",
                "context": "/wiki",
                "next": "/rest/api/content/search?cursor=x",
            },
            "https://acme.atlassian.net/wiki/rest/api/content/search?cql=a",
            "https://acme.atlassian.net/wiki/rest/api/content/search?cursor=x",
        ),
        (
            {"base": "https://acme.atlassian.net/wiki", "context": "/wiki", "next": "/wiki/rest/api/content?start=100"},
            "https://acme.atlassian.net/wiki/rest/api/content",
            "https://acme.atlassian.net/wiki/rest/api/content?start=100",
        ),
        (
            {"next": "/rest/api/content?start=25"},
            "https://confluence.acme.internal/rest/api/content",
            "https://confluence.acme.internal/rest/api/content?start=25",
        ),
        ({"next": "https://other.example/x?start=5"}, "https://a/b", "https://other.example/x?start=5"),
        ({"base": "https://a/wiki"}, "https://a/wiki/rest", None),
    ],
)
def test_next_link_resolution(links: dict, current: str, expected: str | None) -> None:
    assert next_url({"results": [], "_links": links}, current) == expected


def test_retry_after_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("Mon, 01 Jun 2026 12:00:30 GMT", now=NOW) == 30.0
    assert retry_after_seconds("Mon, 01 Jun 2026 11:00:00 GMT", now=NOW) == 0.0
    assert (
        retry_after_seconds("soon") is None and retry_after_seconds(None) is None and retry_after_seconds("inf") is None
    )


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    assert [backoff_delay(a, policy, lambda: 1.0) for a in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert [backoff_delay(a, policy, lambda: 0.0) for a in range(1, 4)] == [0.5, 1, 2]


def content(pid: str, **kw) -> dict:
    return {
        "id": pid,
        "type": "page",
        "title": f"T{pid}",
        "version": {"number": 3, "when": "2026-01-02T00:00:00Z"},
        "body": {"storage": {"value": "<p>x</p>"}},
        "_links": {"webui": f"/pages/{pid}"},
        **kw,
    }


def restricted(**groups) -> dict:
    return {"read": {"restrictions": {"user": {"results": []}, "group": {"results": [{"name": "hr"}]}}}}


def test_page_from_result_inherits_ancestor_restrictions() -> None:
    assert not page_from_result(content("1", ancestors=[{"id": "0", "title": "Root"}]), "https://w").restricted
    child = page_from_result(content("2", ancestors=[{"id": "0", "title": "HR", "restrictions": restricted()}]), "")
    assert child.restricted and child.ancestors == ("HR",)
    assert page_from_result(content("3", restrictions=restricted()), "").restricted
    assert page_from_result({"id": "4", "type": "attachment"}) is None


def test_filter_restricted_keeps_the_page_shape() -> None:
    doc = {"results": [content("1"), content("2", restrictions=restricted())], "size": 2, "_links": {"next": "/n"}}
    kept, dropped = filter_restricted(doc)
    assert dropped == 1 and [r["id"] for r in kept["results"]] == ["1"] and kept["size"] == 1
    assert kept["_links"] == {"next": "/n"}


def plan(prev: IngestState | None, **kw):
    args = {"incremental": True, "source_key": "k", "full": False, "sweep": False, "sweep_hours": 24.0, "now": NOW}
    return plan_listing(prev, **{**args, **kw})


def test_plan_listing() -> None:
    day_ago = (NOW - timedelta(hours=25)).isoformat()
    hour_ago = (NOW - timedelta(hours=1)).isoformat()
    state = IngestState("k", "2026-05-30T00:00:00.000Z", hour_ago)
    assert plan(None, incremental=False).since is None
    assert plan(None).since is None and plan(state, full=True).since is None and plan(state, sweep=True).since is None
    assert plan(IngestState("other", state.watermark, hour_ago)).since is None
    p = plan(state)
    assert (p.since, p.sweep) == (state.watermark, False)
    assert plan(IngestState("k", state.watermark, day_ago)).sweep
    assert plan(IngestState("k", state.watermark, None)).sweep
    assert plan(state, sweep_hours=0).sweep


def test_state_round_trips_through_the_manifest_extra() -> None:
    state = IngestState("confluence:x", "2026-01-01T00:00:00.000Z", "2026-06-01T00:00:00.000Z")
    assert IngestState.from_extra(json.loads(json.dumps(state.to_extra()))) == state
    assert IngestState.from_extra({}) is None and IngestState.from_extra(None) is None


def test_watermark_only_moves_forward_and_normalises_to_utc() -> None:
    assert advance_watermark(None, "2026-01-02T03:04:05.678+02:00") == "2026-01-02T01:04:05.678Z"
    assert advance_watermark("2026-02-01T00:00:00.000Z", "2026-01-01T00:00:00Z") == "2026-02-01T00:00:00.000Z"
    assert advance_watermark("2026-02-01T00:00:00.000Z", "garbage") == "2026-02-01T00:00:00.000Z"
    assert advance_watermark(None, "") is None


def test_s3_locations_and_pointers() -> None:
    assert parse_s3_url("s3://my-bucket/a/b/") == ("my-bucket", "a/b/")
    assert parse_s3_url("s3://my-bucket") == ("my-bucket", "")
    with pytest.raises(IndexStoreError):
        parse_s3_url("https://my-bucket/x")
    digest = "a" * 64
    pointer = parse_pointer(encode_pointer("20260101T000000Z-abcd1234", digest, ["v2", "v1", "v2"]), "p")
    assert (pointer.version, pointer.manifest_sha256, pointer.previous) == (
        "20260101T000000Z-abcd1234",
        digest,
        ("v2", "v1"),
    )
    for bad in (b"garbage", b'{"version": "../../etc", "manifest_sha256": "' + b"a" * 64 + b'"}', b'{"version": "v"}'):
        with pytest.raises(IndexCorrupt, match="pointer"):
            parse_pointer(bad, "s3://b/CURRENT")


def test_titan_request_and_response() -> None:
    assert json.loads(build_request("héllo", 512)) == {"inputText": "héllo", "dimensions": 512, "normalize": True}
    vec, tokens = parse_response(json.dumps({"embedding": [0.5] * 256, "inputTextTokenCount": 7}).encode(), 256)
    assert vec.shape == (256,) and vec.dtype == np.float32 and tokens == 7
    with pytest.raises(EmbeddingError, match="shape"):
        parse_response(json.dumps({"embedding": [0.5] * 10}).encode(), 256)
    with pytest.raises(EmbeddingError, match="unreadable"):
        parse_response(b"<html>", 256)


def test_fatal_messages_name_model_and_action() -> None:
    msg = fatal_message("AccessDeniedException", "not authorized", "amazon.titan-embed-text-v2:0", "eu-west-1")
    assert "bedrock:InvokeModel" in msg and "amazon.titan-embed-text-v2:0" in msg and "eu-west-1" in msg
    assert "not enabled" in fatal_message("AccessDeniedException", "You don't have access to the model", "m", "")
    assert "HELPDESK_BEDROCK_EMBED_MODEL" in fatal_message("ResourceNotFoundException", "x", "m", "")


def test_new_settings_parse_and_validate() -> None:
    s = Settings.from_env(
        {"HELPDESK_INDEX_TYPE": "FLAT", "CONFLUENCE_TIMEOUT_SECONDS": "5", "CONFLUENCE_RETRY_BUDGET_SECONDS": "0"}
    )
    assert (s.index.index_type, s.confluence.timeout_seconds, s.confluence.retry_budget_seconds) == ("flat", 5.0, 0.0)
    assert Settings.from_env({}).index.index_type == "sq8"
    with pytest.raises(SettingsError, match="HELPDESK_INDEX_TYPE"):
        Settings.from_env({"HELPDESK_INDEX_TYPE": "hnsw"})
    assert "tok-secret" not in repr(Settings.from_env({"CONFLUENCE_TOKEN": "tok-secret"}))


def test_by_default_every_incremental_run_lists_ids_for_deletions() -> None:
    from ingest.config import IngestConfig

    hours = IngestConfig.from_env({}).deletion_sweep_hours
    just_swept = IngestState("k", "2026-05-30T00:00:00.000Z", NOW.isoformat())
    assert plan(just_swept, sweep_hours=hours).sweep
    assert not plan(
        just_swept, sweep_hours=IngestConfig.from_env({"HELPDESK_DELETION_SWEEP_HOURS": "6"}).deletion_sweep_hours
    ).sweep
