"""Settings of the index store (read from the environment by the app, once per process)."""

from __future__ import annotations

from dataclasses import dataclass

from core import env as e

INDEX_TYPES = ("sq8", "flat")


@dataclass(frozen=True)
class IndexConfig:
    location: str = ""  # a folder or s3://bucket/prefix; empty: the app's default (HELPDESK_HOME/index)
    keep_versions: int = 5
    refresh_seconds: int = 60  # readers re-check the S3 pointer at most this often
    cache_dir: str = "/tmp/helpdesk-index"
    index_type: str = "sq8"  # sq8 (8-bit scalar quantised, docs/decisions/0003) | flat (exact float32)

    @classmethod
    def from_env(cls, env: e.Env) -> IndexConfig:
        return cls(
            location=e.text(env, "HELPDESK_INDEX"),
            keep_versions=e.whole(env, "HELPDESK_INDEX_KEEP_VERSIONS", 5, 1, 1000),
            refresh_seconds=e.whole(env, "HELPDESK_INDEX_REFRESH_SECONDS", 60, 0, 86_400),
            cache_dir=e.text(env, "HELPDESK_INDEX_CACHE_DIR", "/tmp/helpdesk-index"),
            index_type=e.choice(env, "HELPDESK_INDEX_TYPE", "sq8", INDEX_TYPES),
        )
