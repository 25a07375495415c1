"""The `KnowledgeSource` protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ingest.model import Page


@dataclass
class SourceReport:
    """What a source skipped and why; shown in the ingest summary."""

    warnings: list[str] = field(default_factory=list)
    files_skipped: int = 0
    objects_skipped: int = 0
    duplicates: int = 0
    restricted_skipped: int = 0

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class KnowledgeSource(Protocol):
    """Where pages come from.

    `pages(since)` yields the pages in scope modified at or after `since` (all of them when `since` is None);
    `page_ids()` is the full listing of ids in scope, used to detect deleted pages.
    """

    report: SourceReport

    def pages(self, since: str | None = None) -> Iterable[Page]: ...

    def page_ids(self) -> set[str]: ...
