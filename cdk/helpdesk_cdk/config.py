"""Deploy-time settings: CDK context (`-c key=value` or cdk.json) first, then `HELPDESK_CDK_<KEY>`, then the default.

Pure: no aws_cdk import, so it is unit-tested without starting jsii. Every value is validated here, with an error
that names the setting, so a typo fails the synth instead of a deploy half an hour later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

ENV_PREFIX = "HELPDESK_CDK_"

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip
PYTHON_VERSIONS = ("3.12", "3.13", "3.14")
ARCHITECTURES = ("arm64", "x86_64")
# Environment variable names that look like they carry a credential. Only `*_ARN` pointers may.
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_KEY", re.IGNORECASE)


# The Slack dedupe lease (assistant/slack/bot.py LEASE_SECONDS): a Slack function must finish well within it.
SLACK_LEASE_SECONDS = 90


class ConfigError(ValueError):
    """A deploy-time setting has a value the stack cannot use."""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} must be true or false")


def _int(name: str, value: str, lo: int, hi: int) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} is not a whole number") from exc
    if not lo <= number <= hi:
        raise ConfigError(f"{name}={number} must be between {lo} and {hi}")
    return number


def _match(name: str, value: str, pattern: str, what: str, *, empty_ok: bool = False) -> str:
    if empty_ok and not value:
        return value
    if not re.fullmatch(pattern, value):
        raise ConfigError(f"{name}={value!r} is not {what}")
    return value


def is_secret_name(name: str) -> bool:
    """True for an environment variable name that looks like it carries a credential (`*_ARN` pointers do not)."""
    return bool(SECRET_NAME.search(name)) and not name.upper().endswith("_ARN")


def _schedule(name: str, value: str) -> str:
    value = value.strip()
    if value.lower() in ("", "off", "none", "disabled"):
        return ""
    return _match(name, value, r"(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))",
                  "an EventBridge schedule like rate(1 hour) or cron(15 3 * * ? *), or 'off'")  # fmt: skip


_EMAIL = r"[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_MODEL_ID = r"[a-z0-9-]+(\.[A-Za-z0-9-]+)+(:[A-Za-z0-9-]+)*"
_SECRET_ARN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
_RERANK_MODEL_ARN = r"arn:aws[a-z-]*:bedrock:[a-z]{2}(-[a-z]+)+-\d::foundation-model/" + _MODEL_ID
# Most answers Lambda may run at once without reserving: the account keeps at least 100 unreserved executions.
MAX_WORKER_CONCURRENCY = 900


@dataclass(frozen=True)
class HelpdeskConfig:
    """Every setting of the stack. The field name is the context key; `HELPDESK_CDK_<NAME>` the environment variable."""

    # --- names ---------------------------------------------------------------------------------------------
    stack_name: str = "ItHelpdesk"
    prefix: str = "it-helpdesk"  # function, topic, queue and secret names start with it
    tickets_table_name: str = "it-helpdesk-tickets"
    adopt_tickets_table: bool = False  # true: use the existing table of that name; the stack never creates it
    dedupe_table_name: str = "it-helpdesk-slack-events"
    index_bucket_name: str = ""  # empty: CloudFormation picks a unique name
    index_prefix: str = "index"
    api_name: str = "it-helpdesk-slack"
    api_stage: str = "prod"
    # --- Lambda ----------------------------------------------------------------------------------------------
    architecture: str = "arm64"
    python: str = "3.13"
    slack_memory_mb: int = 1024
    slack_timeout_s: int = 60
    ingest_memory_mb: int = 1024
    ingest_timeout_s: int = 900
    sweep_memory_mb: int = 256
    sweep_timeout_s: int = 120
    # The answering worker: Slack's receiver acks and hands the work to it (empty: lazy self-invocation, one function)
    slack_worker_handler: str = "handler.worker_handler"
    worker_concurrency: int = 10  # reserved concurrency of the worker: answers at once (0: not reserved)
    bundle: str = "local"  # local (build with pip/uv, no Docker) | stub (tests) | path to a prebuilt bundle folder
    bundle_python: str = ""  # interpreter of the runtime's version, to precompile bytecode (found on PATH if empty)
    # --- schedules -------------------------------------------------------------------------------------------
    ingest_schedule: str = "rate(1 hour)"
    full_ingest_schedule: str = "cron(15 3 * * ? *)"
    sweep_schedule: str = "rate(15 minutes)"
    digest_schedule: str = "cron(0 8 ? * MON *)"  # the weekly digest for IT (cdk/helpdesk_cdk/knowledge.py)
    # --- Bedrock ---------------------------------------------------------------------------------------------
    embed_model: str = "amazon.titan-embed-text-v2:0"
    embed_dimensions: int = 256
    chat_model: str = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    bedrock_profile_regions: tuple[str, ...] = ()  # empty: the documented regions of the profile's geography
    guardrail_id: str = ""
    guardrail_version: str = ""
    rerank_model_arn: str = ""  # optional: HELPDESK_RERANK_MODEL_ARN, with Rerank and InvokeModel on this model only
    # optional: answer from this Bedrock Knowledge Base (HELPDESK_RETRIEVER=bedrock-kb), with Retrieve on it only
    knowledge_base_id: str = ""
    # --- Confluence ------------------------------------------------------------------------------------------
    confluence_url: str = ""
    confluence_spaces: tuple[str, ...] = ()
    confluence_cql: str = ""
    confluence_secret_arn: str = ""  # empty: the stack creates an empty secret
    gap_space: str = ""  # space key for knowledge-base drafts from resolved tickets (HELPDESK_GAP_SPACE); empty: off
    gap_parent_id: str = ""  # optional parent page id of those drafts (HELPDESK_GAP_PARENT_ID)
    # --- Slack -----------------------------------------------------------------------------------------------
    slack_secret_arn: str = ""  # empty: the stack creates an empty secret
    it_group: tuple[str, ...] = ()
    channel_allowlist: tuple[str, ...] = ()
    mention_only_channels: tuple[str, ...] = ()
    disabled_channels: tuple[str, ...] = ()
    digest_channel: str = ""  # Slack channel id the weekly digest is also posted to (HELPDESK_DIGEST_CHANNEL)
    # --- email -----------------------------------------------------------------------------------------------
    it_email: str = "it-support@example.com"
    sender_email: str = "helpdesk-bot@example.com"
    create_ses_identity: bool = False  # true: the stack creates the SES identity of ses_identity (or sender_email)
    ses_identity: str = ""  # a domain or an address; empty: sender_email
    # --- API, logs, alarms -----------------------------------------------------------------------------------
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    api_gateway_cloudwatch_role: bool = True  # false when the account's API Gateway logging role is managed elsewhere
    log_retention_days: int = 30
    alarm_email: str = ""
    # --- anything else for the functions (validated: never a secret) ----------------------------------------
    extra_env: dict[str, str] = field(default_factory=dict)

    # --------------------------------------------------------------------------------------------------------
    @property
    def sender_domain(self) -> str:
        return self.sender_email.rsplit("@", 1)[-1]

    @property
    def ses_identity_name(self) -> str:
        return self.ses_identity or self.sender_email

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_sources(
        cls, context: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> HelpdeskConfig:
        """Context wins over `HELPDESK_CDK_*`, which wins over the default. Raises ConfigError naming the setting."""
        context = context or {}
        env = env or {}
        names = cls.setting_names()
        # CDK's own context keys ("@aws-cdk/...", "aws:cdk:...") are not snake_case identifiers, so never flagged.
        unknown = sorted(k for k in context if re.fullmatch(r"[a-z][a-z0-9_]*", k) and k not in names)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(names)}")
        raw: dict[str, Any] = {}
        for name in names:
            if context.get(name) is not None:
                raw[name] = context[name]
            elif env.get(ENV_PREFIX + name.upper(), "").strip():
                raw[name] = env[ENV_PREFIX + name.upper()]
        values = {name: _PARSERS[name](name, value) for name, value in raw.items()}
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        _match("prefix", self.prefix, r"[a-z][a-z0-9-]{1,30}", "lower-case letters, digits and dashes (2-31)")
        _match("stack_name", self.stack_name, r"[A-Za-z][A-Za-z0-9-]{0,127}", "a CloudFormation stack name")
        for name in ("tickets_table_name", "dedupe_table_name"):
            _match(name, getattr(self, name), r"[A-Za-z0-9_.-]{3,255}", "a DynamoDB table name")
        if self.tickets_table_name == self.dedupe_table_name:
            raise ConfigError("tickets_table_name and dedupe_table_name must differ")
        _match("index_bucket_name", self.index_bucket_name, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name",
               empty_ok=True)  # fmt: skip
        _match("index_prefix", self.index_prefix, r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*",
               "a key prefix without leading or trailing '/'")  # fmt: skip
        _match("api_name", self.api_name, r"[A-Za-z0-9 _.-]{1,128}", "an API name")
        _match("api_stage", self.api_stage, r"[A-Za-z0-9_]{1,128}", "a stage name")
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture={self.architecture!r} must be one of: {', '.join(ARCHITECTURES)}")
        if self.python not in PYTHON_VERSIONS:
            raise ConfigError(f"python={self.python!r} must be one of: {', '.join(PYTHON_VERSIONS)}")
        for name in ("slack", "ingest", "sweep"):
            _int(f"{name}_memory_mb", str(getattr(self, f"{name}_memory_mb")), 128, 10240)
            _int(f"{name}_timeout_s", str(getattr(self, f"{name}_timeout_s")), 1, 900)
        if self.slack_timeout_s >= SLACK_LEASE_SECONDS:
            raise ConfigError(
                f"slack_timeout_s={self.slack_timeout_s} must stay under {SLACK_LEASE_SECONDS} s, the lease after "
                "which a Slack retry takes over an unfinished answer (assistant/slack/bot.py LEASE_SECONDS)"
            )
        if self.slack_memory_mb < 512:
            raise ConfigError(
                f"slack_memory_mb={self.slack_memory_mb}: the answering path needs at least 512 MB "
                "(see docs/decisions/0010-lambda-sizing-and-packaging.md)"
            )
        _match("slack_worker_handler", self.slack_worker_handler, r"[A-Za-z_][A-Za-z0-9_.]*\.[A-Za-z_][A-Za-z0-9_]*",
               "a module.function handler", empty_ok=True)  # fmt: skip
        for name in ("embed_model", "chat_model"):
            _match(name, getattr(self, name), _MODEL_ID,
                   "a Bedrock model id or system inference-profile id (ARNs are not accepted)")  # fmt: skip
        if self.embed_dimensions not in (256, 512, 1024):
            raise ConfigError(f"embed_dimensions={self.embed_dimensions} must be 256, 512 or 1024")
        _int("worker_concurrency", str(self.worker_concurrency), 0, MAX_WORKER_CONCURRENCY)
        _match("rerank_model_arn", self.rerank_model_arn, _RERANK_MODEL_ARN,
               "a Bedrock foundation-model ARN like arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0",
               empty_ok=True)  # fmt: skip
        _match("knowledge_base_id", self.knowledge_base_id, r"[0-9A-Za-z]{10}",
               "a Bedrock Knowledge Base id (10 letters or digits)", empty_ok=True)  # fmt: skip
        for region in self.bedrock_profile_regions:
            _match("bedrock_profile_regions", region, r"[a-z]{2}(-[a-z]+)+-\d", "a list of region names")
        if bool(self.guardrail_id) != bool(self.guardrail_version):
            raise ConfigError("guardrail_id and guardrail_version go together: set both or neither")
        _match("guardrail_id", self.guardrail_id, r"[a-z0-9]{1,64}", "a guardrail id", empty_ok=True)
        _match("guardrail_version", self.guardrail_version, r"(DRAFT|\d{1,8})", "a guardrail version", empty_ok=True)
        _match("confluence_url", self.confluence_url, r"https://[^\s/$.?#][^\s]*", "an https URL", empty_ok=True)
        for key in self.confluence_spaces:
            _match("confluence_spaces", key, r"~?[A-Za-z0-9_]+", "a list of space keys")
        _match("gap_space", self.gap_space, r"~?[A-Za-z0-9_]+", "a space key", empty_ok=True)
        _match("gap_parent_id", self.gap_parent_id, r"\d{1,20}", "a page id", empty_ok=True)
        if self.gap_space and not self.confluence_url:
            raise ConfigError("gap_space needs confluence_url: drafts are created on that site")
        for name in ("slack_secret_arn", "confluence_secret_arn"):
            _match(name, getattr(self, name), _SECRET_ARN, "a Secrets Manager secret ARN", empty_ok=True)
        for name in ("it_email", "sender_email"):
            _match(name, getattr(self, name), _EMAIL, "an email address")
        _match("alarm_email", self.alarm_email, _EMAIL, "an email address", empty_ok=True)
        _match("ses_identity", self.ses_identity, rf"({_EMAIL}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)",
               "an email address or a domain", empty_ok=True)  # fmt: skip
        if self.ses_identity and "@" not in self.ses_identity and self.ses_identity != self.sender_domain:
            raise ConfigError(
                f"ses_identity={self.ses_identity!r} must be the domain of sender_email ({self.sender_domain})"
            )
        if "@" in self.ses_identity and self.ses_identity != self.sender_email:
            raise ConfigError(f"ses_identity={self.ses_identity!r} must be sender_email or its domain")
        for name in ("ingest_schedule", "full_ingest_schedule", "sweep_schedule", "digest_schedule"):
            _schedule(name, getattr(self, name))
        _match("digest_channel", self.digest_channel, r"[CGD][A-Z0-9]{2,}", "a Slack channel id like C0123ABCD",
               empty_ok=True)  # fmt: skip
        _int("api_rate_limit", str(self.api_rate_limit), 1, 10_000)
        _int("api_burst_limit", str(self.api_burst_limit), 1, 5_000)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(
                f"log_retention_days={self.log_retention_days} is not a CloudWatch retention; use one of "
                f"{', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        for key, value in self.extra_env.items():
            _match("extra_env", key, r"[A-Z][A-Z0-9_]*", "a map of upper-case environment variable names")
            if is_secret_name(key):
                raise ConfigError(
                    f"extra_env: {key} looks like a secret; secrets go in Secrets Manager, only their *_ARN here"
                )
            if not isinstance(value, str):
                raise ConfigError(f"extra_env: {key} must be a string, got {type(value).__name__}")


def _parse_extra_env(name: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f'{name} must be a JSON object of strings, e.g. \'{{"HELPDESK_X": "1"}}\'') from exc
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object of strings")
    return {str(k): v for k, v in value.items()}


def _parser_for(default: Any) -> Callable[[str, Any], Any]:
    if isinstance(default, bool):
        return lambda name, v: v if isinstance(v, bool) else _bool(name, str(v))
    if isinstance(default, int):
        return lambda name, v: _int(name, str(v), -(10**9), 10**9)
    if isinstance(default, tuple):
        return lambda name, v: tuple(str(x).strip() for x in v) if isinstance(v, list | tuple) else _csv(str(v))
    if isinstance(default, dict):
        return _parse_extra_env
    return lambda name, v: str(v).strip()


def _default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


_PARSERS: dict[str, Callable[[str, Any], Any]] = {f.name: _parser_for(_default(f)) for f in fields(HelpdeskConfig)}
for _name in ("ingest_schedule", "full_ingest_schedule", "sweep_schedule", "digest_schedule"):
    _PARSERS[_name] = lambda name, v: _schedule(name, str(v))  # "off" and friends become "" (disabled)
