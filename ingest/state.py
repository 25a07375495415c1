"""Incremental ingest state, kept with the index (pure).

The state manifest proper is the docstore's page table (page id -> version and content hash), written with every
index version. Alongside it, the manifest's `extra["ingest_state"]` records, for incremental sources (live
Confluence), which scope it belongs to, the last-modified watermark and when the last full id listing (deletion
sweep) ran. `plan_listing` turns that into what this run lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

STATE_FIELD = "ingest_state"


def parse_when(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp ("2026-01-05T10:00:00.000Z", "...+02:00") as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def format_when(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class IngestState:
    source: str = ""
    watermark: str | None = None  # newest version.when seen, ISO UTC
    last_sweep: str | None = None  # when the last full listing / id listing ran, ISO UTC

    def to_extra(self) -> dict[str, Any]:
        return {STATE_FIELD: {"source": self.source, "watermark": self.watermark, "last_sweep": self.last_sweep}}

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any] | None) -> IngestState | None:
        raw = (extra or {}).get(STATE_FIELD)
        if not isinstance(raw, Mapping):
            return None
        return cls(
            source=str(raw.get("source") or ""),
            watermark=str(raw["watermark"]) if raw.get("watermark") else None,
            last_sweep=str(raw["last_sweep"]) if raw.get("last_sweep") else None,
        )


@dataclass(frozen=True)
class ListingPlan:
    since: str | None  # None: list every page in scope (the listing itself shows what was deleted)
    sweep: bool  # with `since`: also run the full id listing to find deleted and out-of-scope pages
    reason: str


def plan_listing(
    prev: IngestState | None,
    *,
    incremental: bool,
    source_key: str,
    full: bool,
    sweep: bool,
    sweep_hours: float,
    now: datetime,
) -> ListingPlan:
    if not incremental:
        return ListingPlan(None, False, "source lists everything")
    if full or sweep:
        return ListingPlan(None, False, "full run requested")
    if prev is None or prev.source != source_key or parse_when(prev.watermark) is None:
        return ListingPlan(None, False, "no state for this scope yet")
    last = parse_when(prev.last_sweep)
    due = last is None or now - last >= timedelta(hours=sweep_hours)
    return ListingPlan(prev.watermark, due, "deletion sweep due" if due else "incremental")


def advance_watermark(current: str | None, seen: str | None) -> str | None:
    """The later of two ISO timestamps (unparseable values lose), formatted in UTC."""
    a, b = parse_when(current), parse_when(seen)
    best = max((x for x in (a, b) if x is not None), default=None)
    return format_when(best) if best is not None else None
