"""The `KnowledgeSource` protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ingest.model import Page


@dataclass
class SourceReport:
    """What a source skipped and why; shown in the ingest summary."""

    warnings: list[str] = field(default_factory=list)
    files_skipped: int = 0
    objects_skipped: int = 0
    duplicates: int = 0
    restricted_skipped: int = 0
    bodiless: int = 0  # pages listed without a body (an export made without expand=body.storage)
    unreadable: list[str] = field(default_factory=list)  # files (or folders) that could not be read or parsed

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class KnowledgeSource(Protocol):
    """Where pages come from: `pages()` yields every page in scope, each run (an export), so the listing itself
    shows what was deleted."""

    report: SourceReport

    def pages(self, since: str | None = None) -> Iterable[Page]: ...


@runtime_checkable
class IdListingSource(KnowledgeSource, Protocol):
    """A source that can list the ids of every page in scope without fetching them: the deletion sweep."""

    def page_ids(self) -> set[str]: ...


@runtime_checkable
class IncrementalSource(IdListingSource, Protocol):
    """A source that lists only what changed: `pages(since)` yields the pages modified at or after `since` (all of
    them when `since` is None). `state_key` names its scope (site and spaces), so a watermark kept for one scope is
    never used for another."""

    @property
    def state_key(self) -> str: ...


@runtime_checkable
class MeteredSource(KnowledgeSource, Protocol):
    """A source that calls a service and counts its requests (shown as `source_calls`)."""

    @property
    def calls(self) -> int: ...
