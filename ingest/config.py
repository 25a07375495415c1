"""Settings of the ingest side: the embedder, live Confluence and the ingest run itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from core import env as e


@dataclass(frozen=True)
class EmbedderConfig:
    kind: str = "onnx-minilm"  # onnx-minilm (int8 transformer, the onnx extra) | local (static model2vec) | bedrock
    bedrock_model: str = "amazon.titan-embed-text-v2:0"
    dimensions: int = 256
    concurrency: int = 8
    chosen: bool = False  # HELPDESK_EMBEDDER is set: a chosen embedder never falls back to another (the default may)

    @classmethod
    def from_env(cls, env: e.Env) -> EmbedderConfig:
        return cls(
            kind=e.choice(env, "HELPDESK_EMBEDDER", "onnx-minilm", ("local", "onnx-minilm", "bedrock")),
            bedrock_model=e.text(env, "HELPDESK_BEDROCK_EMBED_MODEL", "amazon.titan-embed-text-v2:0"),
            dimensions=e.whole_choice(env, "HELPDESK_EMBED_DIMENSIONS", 256, (256, 512, 1024)),
            concurrency=e.whole(env, "HELPDESK_EMBED_CONCURRENCY", 8, 1, 64),
            chosen=bool(env.get("HELPDESK_EMBEDDER", "").strip()),
        )


@dataclass(frozen=True)
class ConfluenceConfig:
    url: str = ""  # https://acme.atlassian.net/wiki (Cloud) or https://confluence.acme.internal
    spaces: tuple[str, ...] = ()
    cql: str = ""  # optional extra CQL, ANDed with the space filter
    user: str = ""  # Cloud: account email (with an API token); empty for Server/DC personal tokens
    token: str = field(default="", repr=False)  # never logged
    secret_arn: str = ""  # Secrets Manager JSON {"user": ..., "token": ...} (Lambda)
    timeout_seconds: float = 30.0  # one HTTP request
    retry_budget_seconds: float = 120.0  # total time one request may spend retrying

    @classmethod
    def from_env(cls, env: e.Env) -> ConfluenceConfig:
        return cls(
            url=e.text(env, "CONFLUENCE_URL"),
            spaces=e.csv(env, "CONFLUENCE_SPACES"),
            cql=e.text(env, "CONFLUENCE_CQL"),
            user=e.text(env, "CONFLUENCE_USER"),
            token=e.text(env, "CONFLUENCE_TOKEN"),
            secret_arn=e.text(env, "CONFLUENCE_SECRET_ARN"),
            timeout_seconds=e.number(env, "CONFLUENCE_TIMEOUT_SECONDS", 30.0, 1.0, 600.0),
            retry_budget_seconds=e.number(env, "CONFLUENCE_RETRY_BUDGET_SECONDS", 120.0, 0.0, 3600.0),
        )


@dataclass(frozen=True)
class IngestConfig:
    exclude_labels: tuple[str, ...] = ("helpdesk-exclude",)
    skip_restricted: bool = True
    deletion_sweep_hours: float = 0.0  # full id listing at most this often for live Confluence (0: every run)

    @classmethod
    def from_env(cls, env: e.Env) -> IngestConfig:
        return cls(
            exclude_labels=e.csv(env, "HELPDESK_EXCLUDE_LABELS", "helpdesk-exclude"),
            skip_restricted=e.flag(env, "HELPDESK_SKIP_RESTRICTED", True),
            deletion_sweep_hours=e.number(env, "HELPDESK_DELETION_SWEEP_HOURS", 0.0, 0.0, 24.0 * 365),
        )
