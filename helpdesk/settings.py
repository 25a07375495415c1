"""Settings: one frozen dataclass, read from the environment once per process (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from helpdesk.errors import HelpdeskError


class SettingsError(HelpdeskError):
    """A setting has a value we cannot use."""

    exit_code = 2


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={raw!r} must be between {lo} and {hi}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from exc
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={raw!r} must be between {lo} and {hi}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _get(env, name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def _csv(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _get(env, name, default).split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Local defaults; the Lambda environment selects the AWS implementations."""

    # --- foundation -------------------------------------------------------------------------------
    home: Path = Path(".helpdesk")
    index_location: str = ""  # folder (or s3://bucket/prefix); default: HOME/index
    embedder: str = "local"  # local | bedrock
    answerer: str = "extractive"  # extractive | bedrock
    confidence_threshold: float = 0.65
    max_question_chars: int = 4000
    retrieval_candidates: int = 50
    exclude_labels: tuple[str, ...] = ("helpdesk-exclude",)
    it_queue_email: str = "it-support@example.com"
    sender_email: str = "helpdesk-bot@example.com"

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
            confidence_threshold=_float(env, "HELPDESK_CONFIDENCE_THRESHOLD", 0.65, 0.0, 1.0),
            max_question_chars=_int(env, "HELPDESK_MAX_QUESTION_CHARS", 4000, 10, 100_000),
            retrieval_candidates=_int(env, "HELPDESK_RETRIEVAL_CANDIDATES", 50, 10, 2000),
            exclude_labels=_csv(env, "HELPDESK_EXCLUDE_LABELS", "helpdesk-exclude"),
            it_queue_email=_get(env, "HELPDESK_IT_EMAIL", "it-support@example.com"),
            sender_email=_get(env, "HELPDESK_SENDER_EMAIL", "helpdesk-bot@example.com"),
        )
