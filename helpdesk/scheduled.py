"""The scheduled Lambda functions, wired from settings and the factory (`handler.ingest_handler`,
`handler.sweep_handler`).

- Ingest (EventBridge): incremental by default; `{"full": true}` lists every page again (deletions included),
  reusing the embedding cache; `{"rebuild": true}` also re-embeds every chunk. The embedder defaults to Bedrock
  here; the Confluence credentials come from CONFLUENCE_SECRET_ARN, read once per cold start. Output: one JSON
  summary line and EMF metrics (PagesChanged, PagesDeleted, ChunksEmbedded, DurationSeconds, Failures,
  BedrockThrottles). Failure: one ERROR line with `"alarm": "helpdesk-ingest-failed"` and Failures=1, then the
  exception is raised; nothing was published, so the last good index keeps serving.
- Email sweep: one pass of `assistant.tickets.sweep.run_sweep`, its dependencies built once per cold start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from assistant.mail.base import Mailer
from assistant.tickets.base import OutboxStore
from assistant.tickets.outage import LocalAlertGate, OutageAlerts
from assistant.tickets.sweep import run_sweep
from core.metrics import lambda_logger, lambda_metrics
from helpdesk.settings import Settings, SettingsError
from ingest.embedders.base import ServiceEmbedder
from ingest.job import ALARM, confluence_credentials

# The scheduled functions' one Powertools logger and metrics (POWERTOOLS_SERVICE_NAME and
# POWERTOOLS_METRICS_NAMESPACE, which the CDK app sets to "it-helpdesk" and "ITHelpdesk"; those are also the
# defaults where they are not set: local runs, tests). This module is imported by the first invocation.
logger = lambda_logger()
metrics = lambda_metrics()


def lambda_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    env.setdefault("HELPDESK_EMBEDDER", "bedrock")  # the Lambda bundle has no local model
    settings = Settings.from_env(env)
    if not settings.index.location:
        raise SettingsError("HELPDESK_INDEX is not set: the scheduled ingest publishes to s3://bucket/prefix")
    if settings.confluence.secret_arn:
        user, token = confluence_credentials(settings.confluence.secret_arn)
        settings = replace(settings, confluence=replace(settings.confluence, user=user, token=token))
    return settings


def _add_metrics(summary: Mapping[str, Any] | None, duration: float, failed: bool, throttles: int = 0) -> None:
    """The run's EMF metrics, flushed by `@metrics.log_metrics` on the entry point. The default `service`
    dimension only, so `BedrockThrottles` matches the CDK app's alarm."""
    from aws_lambda_powertools.metrics import MetricUnit

    s = summary or {}
    metrics.add_metric(name="PagesChanged", unit=MetricUnit.Count, value=s.get("pages_changed", 0))
    metrics.add_metric(name="PagesDeleted", unit=MetricUnit.Count, value=s.get("pages_deleted", 0))
    metrics.add_metric(name="ChunksEmbedded", unit=MetricUnit.Count, value=s.get("chunks_embedded", 0))
    metrics.add_metric(name="DurationSeconds", unit=MetricUnit.Seconds, value=round(duration, 3))
    metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1 if failed else 0)
    if throttles:
        metrics.add_metric(name="BedrockThrottles", unit=MetricUnit.Count, value=throttles)


def _throttles(embedder: Any) -> int:
    return int(embedder.stats.snapshot().throttles) if isinstance(embedder, ServiceEmbedder) else 0


def run_scheduled(
    event: Mapping[str, Any] | None,
    settings: Settings,
    *,
    source: Any | None = None,
    embedder: Any | None = None,
    store: Any | None = None,
) -> dict[str, Any]:
    """One scheduled run; the parts can be injected (tests), the rest comes from the factory. Its metrics are
    added to `metrics`, which the entry point flushes."""
    from helpdesk.factory import build_embedder, build_index_store, build_source
    from ingest.pipeline import IngestOptions

    event = event if isinstance(event, Mapping) else {}
    rebuild, full = bool(event.get("rebuild")), bool(event.get("full"))
    started = time.monotonic()
    summary: dict[str, Any] | None = None
    try:
        store = store or build_index_store(settings)
        source = source or build_source(settings, "confluence:")
        embedder = embedder or build_embedder(settings)
        options = IngestOptions.from_config(
            settings.ingest, index_type=settings.index.index_type, full=rebuild, sweep=full and not rebuild
        )
        from helpdesk.calibration import ingest_and_calibrate, ingest_json

        result, calibration = ingest_and_calibrate(
            source, embedder, store, options, settings.home, refit=settings.answering.self_calibration
        )
    except Exception as exc:
        duration = time.monotonic() - started
        logger.error(
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
        _add_metrics(None, duration, failed=True, throttles=_throttles(embedder))
        raise
    summary = ingest_json(result.to_json(), calibration)
    summary["mode"] = _mode(full, rebuild)
    summary["warnings"] = result.warnings[:20]
    summary["warnings_total"] = len(result.warnings)
    logger.info("ingest summary", extra=summary)
    _add_metrics(summary, time.monotonic() - started, failed=False, throttles=summary.get("embed_throttles") or 0)
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


@metrics.log_metrics
@logger.inject_lambda_context
def handle_scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(request_id=context.aws_request_id)
    try:
        settings = lambda_settings()
    except Exception as exc:
        logger.error(
            "ingest failed: configuration",
            extra={"alarm": ALARM, "error_type": exc.__class__.__name__, "error": str(exc)[:1000]},
        )
        _add_metrics(None, 0.0, failed=True)
        raise
    return run_scheduled(event, settings)


_deps: tuple[Any, OutboxStore, Mailer] | None = None  # built once per cold start


def _dependencies() -> tuple[Any, OutboxStore, Mailer]:
    global _deps
    if _deps is None:
        from helpdesk.factory import build_mailer, build_ticket_store

        settings = Settings.from_env()
        _deps = (settings, build_ticket_store(settings), build_mailer(settings))  # type: ignore[assignment]
    return _deps  # type: ignore[return-value]


@logger.inject_lambda_context
def handle_sweep(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled Lambda: one sweep, one JSON summary line in the log, the summary as the result."""
    settings, store, mailer = _dependencies()
    summary = run_sweep(
        store,
        mailer,
        sender=settings.mail.sender_email,
        it_queue=settings.mail.it_queue_email,
        notify_requester=settings.tickets.notify_requester,
        outage=OutageAlerts(LocalAlertGate()),  # one alert per pass for retried outage emails, the rest summarised
    )
    logger.info("ticket email sweep", extra={"event": "ticket_email_sweep", **summary})
    return summary
