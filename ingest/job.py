"""The scheduled re-index (EventBridge -> `handler.ingest_handler`).

- Incremental by default: what changed since the watermark, plus the deletion sweep when it is due.
- `{"full": true}`: the full sweep: every page listed again (deleted and out-of-scope pages drop out, changed ones
  are re-chunked), reusing the embedding cache. `{"rebuild": true}` also re-embeds every chunk.
- Settings from the environment (the embedder defaults to Bedrock here); the Confluence credentials from the
  Secrets Manager secret named by CONFLUENCE_SECRET_ARN (`{"user": ..., "token": ...}`), read once per cold start.
- Output: one structured JSON summary line and CloudWatch metrics (EMF, aws-lambda-powertools; namespace and service
  from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME): PagesChanged, PagesDeleted, ChunksEmbedded,
  DurationSeconds, Failures, and BedrockThrottles (one per ThrottlingException, what the CDK app's alarm reads).
- Failure: one ERROR line with `"alarm": "helpdesk-ingest-failed"` and Failures=1, then the exception is raised so
  the invocation fails. Nothing was published, so the last good index keeps serving.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

# Powertools reads POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (the CDK app sets "it-helpdesk" and
# "ITHelpdesk"); these defaults apply only where they are not set (local runs, tests).
from helpdesk.metrics import DEFAULT_NAMESPACE, DEFAULT_SERVICE
from helpdesk.settings import Settings, SettingsError
from ingest.exceptions import SourceError

ALARM = "helpdesk-ingest-failed"
_SECRETS: dict[str, tuple[str, str]] = {}  # secret ARN -> (user, token), once per cold start

_logger: Any = None


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is now (Lambda ships stdout to CloudWatch; tests capture it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _log() -> Any:
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        service = None if os.environ.get("POWERTOOLS_SERVICE_NAME") else DEFAULT_SERVICE
        _logger = Logger(service=service, logger_handler=_StdoutHandler())
    return _logger


def parse_secret(text: str, arn: str) -> tuple[str, str]:
    """(user, token) from the secret's JSON string (pure). `user` is empty for Server/DC personal tokens."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SourceError(f'Confluence secret {arn} is not JSON; expected {{"user": ..., "token": ...}}') from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("token"), str) or not doc["token"].strip():
        raise SourceError(f'Confluence secret {arn} has no "token"; expected {{"user": ..., "token": ...}}')
    user = doc.get("user") or ""
    if not isinstance(user, str):
        raise SourceError(f'Confluence secret {arn}: "user" must be a string (the account email, Cloud only)')
    return user.strip(), doc["token"].strip()


def confluence_credentials(arn: str, client: Any | None = None) -> tuple[str, str]:
    if arn not in _SECRETS:
        from botocore.exceptions import BotoCoreError, ClientError

        if client is None:
            import boto3

            client = boto3.client("secretsmanager")
        try:
            text = client.get_secret_value(SecretId=arn)["SecretString"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SourceError(
                f"cannot read the Confluence secret {arn} ({code}): the role needs secretsmanager:GetSecretValue"
            ) from exc
        except (BotoCoreError, KeyError) as exc:
            raise SourceError(f"cannot read the Confluence secret {arn}: {exc}") from exc
        _SECRETS[arn] = parse_secret(text, arn)
    return _SECRETS[arn]


def lambda_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    env.setdefault("HELPDESK_EMBEDDER", "bedrock")  # the Lambda bundle has no local model
    settings = Settings.from_env(env)
    if not settings.index_location:
        raise SettingsError("HELPDESK_INDEX is not set: the scheduled ingest publishes to s3://bucket/prefix")
    if settings.confluence_secret_arn:
        user, token = confluence_credentials(settings.confluence_secret_arn)
        settings = replace(settings, confluence_user=user, confluence_token=token)
    return settings


def _emit_metrics(summary: Mapping[str, Any] | None, duration: float, failed: bool, throttles: int = 0) -> None:
    """EMF on stdout. The default `service` dimension only, so `BedrockThrottles` matches the CDK app's alarm."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(
        namespace=None if os.environ.get("POWERTOOLS_METRICS_NAMESPACE") else DEFAULT_NAMESPACE,
        service=None if os.environ.get("POWERTOOLS_SERVICE_NAME") else DEFAULT_SERVICE,
    )
    s = summary or {}
    metrics.add_metric(name="PagesChanged", unit=MetricUnit.Count, value=s.get("pages_changed", 0))
    metrics.add_metric(name="PagesDeleted", unit=MetricUnit.Count, value=s.get("pages_deleted", 0))
    metrics.add_metric(name="ChunksEmbedded", unit=MetricUnit.Count, value=s.get("chunks_embedded", 0))
    metrics.add_metric(name="DurationSeconds", unit=MetricUnit.Seconds, value=round(duration, 3))
    metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1 if failed else 0)
    if throttles:
        metrics.add_metric(name="BedrockThrottles", unit=MetricUnit.Count, value=throttles)
    metrics.flush_metrics()


def _throttles(embedder: Any) -> int:
    stats = getattr(embedder, "stats", None)
    return int(stats.snapshot().throttles) if stats is not None else 0


def run_scheduled(
    event: Mapping[str, Any] | None,
    settings: Settings,
    *,
    source: Any | None = None,
    embedder: Any | None = None,
    store: Any | None = None,
) -> dict[str, Any]:
    """One scheduled run; the parts can be injected (tests), the rest comes from the factory."""
    from helpdesk.factory import build_embedder, build_index_store, build_source
    from ingest.pipeline import IngestOptions, run_ingest

    event = event if isinstance(event, Mapping) else {}
    rebuild, full = bool(event.get("rebuild")), bool(event.get("full"))
    started = time.monotonic()
    log = _log()
    summary: dict[str, Any] | None = None
    try:
        store = store or build_index_store(settings)
        source = source or build_source(settings, "confluence:")
        embedder = embedder or build_embedder(settings)
        options = IngestOptions.from_settings(settings, full=rebuild, sweep=full and not rebuild)
        result = run_ingest(source, embedder, store, options)
    except Exception as exc:
        duration = time.monotonic() - started
        log.error(
            "ingest failed; nothing was published and the last good index keeps serving",
            extra={
                "alarm": ALARM,
                "error_type": exc.__class__.__name__,
                "error": str(exc)[:1000],
                "serving_version": _serving_version(store),
                "mode": _mode(full, rebuild),
                "duration_s": round(duration, 3),
            },
        )
        _emit_metrics(None, duration, failed=True, throttles=_throttles(embedder))
        raise
    summary = result.to_json()
    summary["mode"] = _mode(full, rebuild)
    summary["warnings"] = result.warnings[:20]
    summary["warnings_total"] = len(result.warnings)
    log.info("ingest summary", extra=summary)
    _emit_metrics(summary, time.monotonic() - started, failed=False, throttles=summary.get("embed_throttles") or 0)
    return {key: value for key, value in summary.items() if key != "warnings"}


def _mode(full: bool, rebuild: bool) -> str:
    return "rebuild" if rebuild else "full" if full else "incremental"


def _serving_version(store: Any) -> str | None:
    if store is None:
        return None
    try:
        return store.current_version()
    except Exception:  # only informative in the failure line
        return None


def handle_scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log = _log()
    request_id = getattr(context, "aws_request_id", "")
    if request_id:
        log.append_keys(request_id=request_id)
    try:
        settings = lambda_settings()
    except Exception as exc:
        log.error(
            "ingest failed: configuration",
            extra={"alarm": ALARM, "error_type": exc.__class__.__name__, "error": str(exc)[:1000]},
        )
        _emit_metrics(None, 0.0, failed=True)
        raise
    return run_scheduled(event, settings)
