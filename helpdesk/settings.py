"""Settings: one frozen dataclass, read from the environment once per process (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpdesk.errors import HelpdeskError


class SettingsError(HelpdeskError):
    """A setting has a value we cannot use."""

    exit_code = 2


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def _number(env: Mapping[str, str], name: str, default: float, lo: float, hi: float, kind: type = float) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a {'whole ' if kind is int else ''}number") from exc
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={raw!r} must be between {lo} and {hi}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    return float(_number(env, name, default, lo, hi, float))


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    return int(_number(env, name, default, lo, hi, int))


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _get(env, name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} must be true or false")


def _int_choice(env: Mapping[str, str], name: str, default: int, choices: tuple[int, ...]) -> int:
    value = _int(env, name, default, min(choices), max(choices))
    if value not in choices:
        raise SettingsError(f"{name}={value} must be one of: {', '.join(map(str, choices))}")
    return value


def _csv(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _get(env, name, default).split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Local defaults; the Lambda environment selects the AWS implementations."""

    # Defaults are the embedded local mode; the Lambda environment (set by the CDK app) selects the AWS parts.
    # The environment variable of each field is in from_env() and in docs/configuration.md.
    # --- foundation -------------------------------------------------------------------------------
    home: Path = Path(".helpdesk")
    index_location: str = ""  # folder (or s3://bucket/prefix); default: HOME/index
    embedder: str = "local"  # local | bedrock
    answerer: str = "extractive"  # extractive | bedrock
    confidence_threshold: float | None = None  # None: the default of the weights the gate uses (assistant.confidence)
    confidence_weights: str = ""  # JSON weights fitted for the configured embedder (bench.calibrate_confidence)
    max_question_chars: int = 4000
    retrieval_candidates: int = 50
    exclude_labels: tuple[str, ...] = ("helpdesk-exclude",)
    it_queue_email: str = "it-support@example.com"
    sender_email: str = "helpdesk-bot@example.com"

    # --- production ingest (issue 3): Confluence, Titan, S3 ----------------------------------------
    confluence_url: str = ""  # https://acme.atlassian.net/wiki (Cloud) or https://confluence.acme.internal
    confluence_spaces: tuple[str, ...] = ()
    confluence_cql: str = ""  # optional extra CQL, ANDed with the space filter
    confluence_user: str = ""  # Cloud: account email (with an API token); empty for Server/DC personal tokens
    confluence_token: str = field(default="", repr=False)  # never logged
    confluence_secret_arn: str = ""  # Secrets Manager JSON {"user": ..., "token": ...} (Lambda)
    skip_restricted: bool = True
    deletion_sweep_hours: float = 24.0  # full id listing at most this often for live Confluence
    bedrock_embed_model: str = "amazon.titan-embed-text-v2:0"
    embed_dimensions: int = 256
    embed_concurrency: int = 8
    index_keep_versions: int = 5
    index_refresh_seconds: int = 60  # readers re-check the S3 pointer at most this often
    index_cache_dir: str = "/tmp/helpdesk-index"
    confluence_timeout_seconds: float = 30.0  # one HTTP request to Confluence
    confluence_retry_budget_seconds: float = 120.0  # total time one Confluence request may spend retrying
    index_type: str = "sq8"  # sq8 (8-bit scalar quantised, see docs/decisions/0003) | flat (exact float32)

    # --- answering on Bedrock (issue 4) ------------------------------------------------------------
    bedrock_chat_model: str = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    answer_max_tokens: int = 700
    answer_temperature: float = 0.1
    source_token_budget: int = 3000
    guardrail_id: str = ""
    guardrail_version: str = ""
    rerank_model_arn: str = ""  # empty: no rerank

    # --- Slack (issue 5) ---------------------------------------------------------------------------
    slack_signing_secret: str = field(default="", repr=False)
    slack_bot_token: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)  # Socket Mode only
    slack_secret_arn: str = ""  # Secrets Manager JSON {"signing_secret": ..., "bot_token": ...}
    slack_api_url: str = ""  # override https://slack.com/api/ (tests and local fakes)
    dedupe_table: str = ""  # DynamoDB table for event dedupe and feedback (TTL attribute "expires_at")
    it_group: tuple[str, ...] = ()  # Slack user ids (U...) or a user group id (S...) allowed to resolve tickets
    channel_allowlist: tuple[str, ...] = ()  # empty: every channel the bot is in
    mention_only_channels: tuple[str, ...] = ()
    disabled_channels: tuple[str, ...] = ()
    slack_worker_function: str = ""  # a separate worker Lambda for the lazy answers (default: this function)

    # --- tickets on AWS (issue 6) ------------------------------------------------------------------
    tickets_table: str = ""  # set: tickets in DynamoDB; empty: local SQLite
    notify_requester: bool = True
    email_backend: str = "outbox"  # outbox | ses (ses is the default when TICKETS_TABLE is set)

    @property
    def index(self) -> str:
        return self.index_location or str(self.home / "index")

    @property
    def tickets_db(self) -> Path:
        return self.home / "tickets.sqlite3"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            home=Path(_get(env, "HELPDESK_HOME", ".helpdesk")),
            index_location=_get(env, "HELPDESK_INDEX", ""),
            embedder=_choice(env, "HELPDESK_EMBEDDER", "local", ("local", "bedrock")),
            answerer=_choice(env, "HELPDESK_ANSWERER", "extractive", ("extractive", "bedrock")),
            confidence_threshold=(
                _float(env, "HELPDESK_CONFIDENCE_THRESHOLD", 0.0, 0.0, 1.0)
                if _get(env, "HELPDESK_CONFIDENCE_THRESHOLD", "")
                else None
            ),
            confidence_weights=_get(env, "HELPDESK_CONFIDENCE_WEIGHTS", ""),
            max_question_chars=_int(env, "HELPDESK_MAX_QUESTION_CHARS", 4000, 10, 100_000),
            retrieval_candidates=_int(env, "HELPDESK_RETRIEVAL_CANDIDATES", 50, 10, 2000),
            exclude_labels=_csv(env, "HELPDESK_EXCLUDE_LABELS", "helpdesk-exclude"),
            it_queue_email=_get(env, "HELPDESK_IT_EMAIL", "it-support@example.com"),
            sender_email=_get(env, "HELPDESK_SENDER_EMAIL", "helpdesk-bot@example.com"),
            confluence_url=_get(env, "CONFLUENCE_URL", ""),
            confluence_spaces=_csv(env, "CONFLUENCE_SPACES", ""),
            confluence_cql=_get(env, "CONFLUENCE_CQL", ""),
            confluence_user=_get(env, "CONFLUENCE_USER", ""),
            confluence_token=_get(env, "CONFLUENCE_TOKEN", ""),
            confluence_secret_arn=_get(env, "CONFLUENCE_SECRET_ARN", ""),
            skip_restricted=_bool(env, "HELPDESK_SKIP_RESTRICTED", True),
            deletion_sweep_hours=_float(env, "HELPDESK_DELETION_SWEEP_HOURS", 24.0, 0.0, 24.0 * 365),
            bedrock_embed_model=_get(env, "HELPDESK_BEDROCK_EMBED_MODEL", "amazon.titan-embed-text-v2:0"),
            embed_dimensions=_int_choice(env, "HELPDESK_EMBED_DIMENSIONS", 256, (256, 512, 1024)),
            embed_concurrency=_int(env, "HELPDESK_EMBED_CONCURRENCY", 8, 1, 64),
            index_keep_versions=_int(env, "HELPDESK_INDEX_KEEP_VERSIONS", 5, 1, 1000),
            index_refresh_seconds=_int(env, "HELPDESK_INDEX_REFRESH_SECONDS", 60, 0, 86_400),
            index_cache_dir=_get(env, "HELPDESK_INDEX_CACHE_DIR", "/tmp/helpdesk-index"),
            confluence_timeout_seconds=_float(env, "CONFLUENCE_TIMEOUT_SECONDS", 30.0, 1.0, 600.0),
            confluence_retry_budget_seconds=_float(env, "CONFLUENCE_RETRY_BUDGET_SECONDS", 120.0, 0.0, 3600.0),
            index_type=_choice(env, "HELPDESK_INDEX_TYPE", "sq8", ("sq8", "flat")),
            bedrock_chat_model=_get(env, "HELPDESK_BEDROCK_CHAT_MODEL", "us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            answer_max_tokens=_int(env, "HELPDESK_ANSWER_MAX_TOKENS", 700, 50, 4096),
            answer_temperature=_float(env, "HELPDESK_ANSWER_TEMPERATURE", 0.1, 0.0, 1.0),
            source_token_budget=_int(env, "HELPDESK_SOURCE_TOKEN_BUDGET", 3000, 200, 50_000),
            guardrail_id=_get(env, "HELPDESK_GUARDRAIL_ID", ""),
            guardrail_version=_get(env, "HELPDESK_GUARDRAIL_VERSION", ""),
            rerank_model_arn=_get(env, "HELPDESK_RERANK_MODEL_ARN", ""),
            slack_signing_secret=_get(env, "SLACK_SIGNING_SECRET", ""),
            slack_bot_token=_get(env, "SLACK_BOT_TOKEN", ""),
            slack_app_token=_get(env, "SLACK_APP_TOKEN", ""),
            slack_secret_arn=_get(env, "SLACK_SECRET_ARN", ""),
            slack_api_url=_get(env, "SLACK_API_URL", ""),
            dedupe_table=_get(env, "HELPDESK_DEDUPE_TABLE", ""),
            it_group=_csv(env, "HELPDESK_IT_GROUP", ""),
            channel_allowlist=_csv(env, "HELPDESK_CHANNEL_ALLOWLIST", ""),
            mention_only_channels=_csv(env, "HELPDESK_MENTION_ONLY_CHANNELS", ""),
            disabled_channels=_csv(env, "HELPDESK_DISABLED_CHANNELS", ""),
            slack_worker_function=_get(env, "HELPDESK_SLACK_WORKER_FUNCTION", ""),
            tickets_table=_get(env, "TICKETS_TABLE", ""),
            notify_requester=_bool(env, "HELPDESK_NOTIFY_REQUESTER", True),
            email_backend=_choice(
                env, "HELPDESK_EMAIL_BACKEND", "ses" if _get(env, "TICKETS_TABLE", "") else "outbox", ("outbox", "ses")
            ),
        )
