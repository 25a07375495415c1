"""The change plan of one ingest run (pure): what each listed page means for the new index, which pages of the
previous index carry over, and whether anything changed at all. `ingest.pipeline` does the I/O around it.
"""

from __future__ import annotations

from collections.abc import Collection, Set
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum

from index_store.format import StoredPage
from ingest.model import Page
from ingest.state import advance_watermark, format_when, parse_when


class PageAction(StrEnum):
    OUT_OF_SCOPE = "out_of_scope"  # restricted or excluded by label: not in the new index
    UNCHANGED = "unchanged"  # same content and record: carried over as it is
    REFRESHED = "refreshed"  # same content, new version or labels: the page record is updated, nothing embedded
    CHANGED = "changed"  # new or edited: re-parsed, re-chunked, new chunks embedded


def stored_page(page: Page, *, content_hash: str | None = None) -> StoredPage:
    """The page's record in the index: the fields of `StoredPage`, read off the page (`content_hash`, when given, is
    the page's, already computed)."""
    record = {f.name: getattr(page, f.name) for f in fields(StoredPage) if f.name != "content_hash"}
    return StoredPage(**record, content_hash=page.content_hash if content_hash is None else content_hash)


def in_scope(page: Page, *, exclude_labels: Collection[str], skip_restricted: bool) -> bool:
    if skip_restricted and page.restricted:
        return False
    return not set(page.labels) & set(exclude_labels)


def page_action(
    page: Page, old: StoredPage | None, *, exclude_labels: Collection[str], skip_restricted: bool
) -> PageAction:
    if not in_scope(page, exclude_labels=exclude_labels, skip_restricted=skip_restricted):
        return PageAction.OUT_OF_SCOPE
    if old is None or old.content_hash != page.content_hash:
        return PageAction.CHANGED
    if (old.version, old.labels) != (page.version, page.labels):
        return PageAction.REFRESHED
    return PageAction.UNCHANGED


@dataclass
class ChangePlan:
    """Filled page by page as the source lists; `watermark` starts at the previous one on an incremental run."""

    watermark: str | None = None
    restricted: int = 0  # restricted pages left out
    listed: dict[str, int] = field(default_factory=dict)  # page id -> version listed (the highest)
    actions: dict[str, PageAction] = field(default_factory=dict)
    _newest: datetime | None = field(default=None, init=False, repr=False, compare=False)
    _read: str | None = field(default=None, init=False, repr=False, compare=False)  # what `_newest` was parsed from

    def admit(
        self, page: Page, old: StoredPage | None, *, exclude_labels: Collection[str], skip_restricted: bool
    ) -> PageAction | None:
        """Record one listed page and say what to do with it; None when this listing already had it at this
        version or a newer one (a listing that shifts under concurrent edits can repeat a page)."""
        if page.page_id in self.listed and self.listed[page.page_id] >= page.version:
            return None
        self.listed[page.page_id] = page.version
        self._advance(page.last_modified)
        action = page_action(page, old, exclude_labels=exclude_labels, skip_restricted=skip_restricted)
        self.actions[page.page_id] = action
        if action is PageAction.OUT_OF_SCOPE:
            self.restricted += int(skip_restricted and page.restricted)
        return action

    def _advance(self, seen: str) -> None:
        """`watermark = advance_watermark(watermark, seen)`, parsing the current watermark only when it was set
        from outside."""
        if self.watermark is None or self.watermark != self._read:
            self.watermark = advance_watermark(self.watermark, seen)
            self._newest, self._read = parse_when(self.watermark), self.watermark
            return
        when = parse_when(seen)
        if when is not None and (self._newest is None or when > self._newest):
            self.watermark = self._read = format_when(when)
            self._newest = parse_when(self.watermark)

    def ids(self, *actions: PageAction) -> set[str]:
        return {pid for pid, action in self.actions.items() if action in actions}

    @property
    def kept(self) -> set[str]:
        """Listed pages that go into the new index."""
        return set(self.actions) - self.ids(PageAction.OUT_OF_SCOPE)

    def unlisted(self, previous: Set[str]) -> set[str]:
        """Pages of the previous index this (incremental) listing did not show."""
        return set(previous) - set(self.listed)


def confirmed_gone(candidates: Set[str], first_listing: Set[str], second_listing: Set[str] | None) -> set[str]:
    """Pages that count as deleted: missing from the full id listing and, when a second listing was taken to
    confirm, from that one too."""
    gone = set(candidates) - set(first_listing)
    if second_listing is not None:
        gone -= set(second_listing)
    return gone


def nothing_changed(plan: ChangePlan, *, deleted: int, state_changed: bool, retyped: bool) -> bool:
    """True when publishing would only repeat the current index."""
    edited = plan.ids(PageAction.CHANGED, PageAction.REFRESHED)
    return not edited and deleted == 0 and not state_changed and not retyped
