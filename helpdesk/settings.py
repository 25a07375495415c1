"""The app's settings: every package's own config, read from the environment once per process (never at import
time) and composed here. The variable of each field is in its package's `config.py` and in docs/configuration.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import AnswerConfig
from assistant.interactions.config import InteractionsConfig
from assistant.mail.config import MailConfig
from assistant.slack.config import SlackConfig
from assistant.tickets.config import TicketsConfig
from core import env as e
from core.errors import ConfigError
from index_store.config import IndexConfig
from ingest.config import ConfluenceConfig, EmbedderConfig, IngestConfig

SettingsError = ConfigError  # the name the app's callers know

__all__ = ["Settings", "SettingsError"]


@dataclass(frozen=True)
class Settings:
    """Local defaults; the Lambda environment (set by the CDK app) selects the AWS implementations."""

    home: Path = Path(".helpdesk")
    index: IndexConfig = field(default_factory=IndexConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    confluence: ConfluenceConfig = field(default_factory=ConfluenceConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    answering: AnswerConfig = field(default_factory=AnswerConfig)
    tickets: TicketsConfig = field(default_factory=TicketsConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    interactions: InteractionsConfig = field(default_factory=InteractionsConfig)

    @property
    def index_location(self) -> str:
        return self.index.location or str(self.home / "index")

    @property
    def tickets_db(self) -> Path:
        return self.home / "tickets.sqlite3"

    @property
    def interactions_db(self) -> Path:
        return self.home / "interactions.sqlite3"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            home=Path(e.text(env, "HELPDESK_HOME", ".helpdesk")),
            index=IndexConfig.from_env(env),
            embedder=EmbedderConfig.from_env(env),
            confluence=ConfluenceConfig.from_env(env),
            ingest=IngestConfig.from_env(env),
            answering=AnswerConfig.from_env(env),
            tickets=TicketsConfig.from_env(env),
            mail=MailConfig.from_env(env),
            slack=SlackConfig.from_env(env),
            interactions=InteractionsConfig.from_env(env),
        )
