"""A Confluence export: a folder of JSON files saved from the REST API v1.

Each file holds one content object, or one page of results (`{"results": [...], "_links": {"base", ...}}`), as
`GET /rest/api/content?spaceKey=KEY&type=page&expand=body.storage,version,ancestors,space,metadata.labels` returns them.
Anything else is skipped with a counted warning; the same page id in two files keeps the highest version. A file
that cannot be read or parsed is recorded in `report.unreadable` (the ingest fails on it unless told to keep that
file's pages), and a `*.json` symlink that leads outside the folder is not followed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ingest.exceptions import InvalidSource
from ingest.model import Page
from ingest.sources.base import SourceReport


def _map(value: Any) -> Mapping[str, Any]:
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _at(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]... where every step must be a mapping; None when any step is missing or of a wrong type."""
    for key in path:
        obj = _map(obj).get(key)
    return obj


def _names(items: Any, key: str) -> tuple[str, ...]:
    items = items if isinstance(items, list) else []
    return tuple(str(x.get(key)) for x in items if isinstance(x, Mapping) and x.get(key))


MAX_VERSION = 2**53  # the largest whole number every JSON reader keeps exactly


def version_number(value: Any) -> int | None:
    """`version.number` as a whole number from 0 to MAX_VERSION; 0 when absent, None when absurd (pure).

    Accepts what real exports hold (an int, a whole float such as 3.0, a string of digits); refuses infinities,
    fractions, negatives, booleans and numbers too large to round-trip.
    """
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        number = int(value)
    else:
        return None
    return number if 0 <= number <= MAX_VERSION else None


def has_body(obj: Mapping[str, Any]) -> bool:
    """True when the content object carries its storage body (the export asked for expand=body.storage)."""
    return isinstance(_at(obj, "body", "storage", "value"), str)


def page_from_content(obj: Mapping[str, Any], base_url: str = "") -> Page | None:
    """Build a Page from one REST v1 content object; None when it is not a usable page (pure).

    Tolerant of fields of the wrong type (a real export can hold anything): they count as absent, and an absurd
    version number counts as 0 (`pages_from_document` reports it).
    """
    if not isinstance(obj, Mapping) or obj.get("type") != "page" or not obj.get("id"):
        return None
    base = str(_at(obj, "_links", "base") or base_url or "").rstrip("/")
    webui = str(_at(obj, "_links", "webui") or "")
    body = _at(obj, "body", "storage", "value")
    read = _at(obj, "restrictions", "read", "restrictions")
    restricted = bool(_at(read, "user", "results") or _at(read, "group", "results"))
    number = version_number(_at(obj, "version", "number")) or 0
    return Page(
        page_id=str(obj["id"]),
        title=str(obj.get("title") or f"Page {obj['id']}"),
        version=number,
        url=f"{base}{webui}" if webui else base,
        body=body if isinstance(body, str) else "",
        space_key=str(_at(obj, "space", "key") or ""),
        ancestors=_names(obj.get("ancestors"), "title"),
        labels=_names(_at(obj, "metadata", "labels", "results"), "name"),
        last_modified=str(_at(obj, "version", "when") or ""),
        restricted=restricted,
    )


def pages_from_document(doc: Any, report: SourceReport, origin: str) -> list[Page]:
    """Pages in one parsed JSON document: a content object or a page of results (pure)."""
    if isinstance(doc, Mapping) and isinstance(doc.get("results"), list):
        base = str((doc.get("_links") or {}).get("base") or "")
        items = doc["results"]
    else:
        base, items = "", [doc]
    pages = []
    for i, item in enumerate(items):
        page = page_from_content(item, base)
        if page is None:
            report.objects_skipped += 1
            kind = item.get("type") if isinstance(item, Mapping) else type(item).__name__
            report.warn(f"{origin}[{i}]: skipped, not a Confluence page object (type={kind!r})")
            continue
        if version_number(_at(item, "version", "number")) is None:
            report.warn(
                f"{origin}[{i}]: page {page.page_id} ({page.title}): version.number "
                f"{_at(item, 'version', 'number')!r} is not a whole number from 0 to {MAX_VERSION}; counted as 0"
            )
        if not has_body(item):
            report.bodiless += 1
            report.warn(
                f"{origin}[{i}]: page {page.page_id} ({page.title}) has no body.storage: was the export made "
                "with expand=body.storage?"
            )
        pages.append(page)
    return pages


class ExportSource:
    """`KnowledgeSource` over an export folder. Every run sees every page, so deletions are always detected."""

    def __init__(self, path: str | Path, *, scandir: Callable[[Path], Any] = os.scandir) -> None:
        self.path = Path(path)
        self.report = SourceReport()
        self._pages: dict[str, Page] | None = None
        self._scandir = scandir  # lists a folder (injected: a test stands in for a folder it may not read)

    def _load(self) -> dict[str, Page]:
        if self._pages is not None:
            return self._pages
        if not self.path.exists():
            raise InvalidSource(f"export folder not found: {self.path}")
        if not self.path.is_dir():
            raise InvalidSource(f"export path is not a folder: {self.path}")
        files = self._json_files()
        if not files and not self.report.unreadable:
            raise InvalidSource(f"export folder has no *.json files: {self.path}")
        pages: dict[str, Page] = {}
        for file in files:
            rel = file.relative_to(self.path)
            try:
                doc = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                self.report.files_skipped += 1
                self.report.unreadable.append(str(rel))
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self.report.warn(f"{rel}: skipped, not valid JSON ({exc.__class__.__name__}: {reason})")
                continue
            for page in pages_from_document(doc, self.report, str(rel)):
                old = pages.get(page.page_id)
                if old is not None:
                    self.report.duplicates += 1
                    self.report.warn(
                        f"{rel}: page {page.page_id} appears more than once; keeping version "
                        f"{max(old.version, page.version)}"
                    )
                    if old.version >= page.version:
                        continue
                pages[page.page_id] = page
        if self.report.bodiless:  # first, so the cause shows above the per-page lines
            self.report.warnings.insert(
                0,
                f"{self.report.bodiless} of {len(pages)} pages have no body.storage: export with "
                "expand=body.storage,version,ancestors,space,metadata.labels (see docs/production-ingest.md)",
            )
        self._pages = pages
        return pages

    def _json_files(self) -> list[Path]:
        """The `*.json` files under the folder, sorted. Symlinked folders are not entered; a symlinked file is read
        only when it resolves inside the folder. Subfolders that cannot be listed go to `report.unreadable`."""
        try:
            entries = self._entries(self.path)
        except PermissionError as exc:
            raise InvalidSource(f"export folder not readable: {self.path}: permission denied") from exc
        except OSError as exc:
            raise InvalidSource(f"export folder not readable: {self.path}: {exc.strerror or exc}") from exc
        root = self.path.resolve()
        files: list[Path] = []
        pending = [entries]
        while pending:
            for entry in pending.pop():
                path = Path(entry.path)
                rel = path.relative_to(self.path)
                if entry.is_dir(follow_symlinks=False):
                    try:
                        pending.append(self._entries(path))
                    except OSError as exc:
                        self.report.unreadable.append(f"{rel}/")
                        reason = exc.strerror or str(exc)
                        self.report.warn(f"{rel}/: folder not readable ({reason}); its files were not read")
                    continue
                if not entry.name.endswith(".json"):
                    continue
                if entry.is_symlink():
                    target = path.resolve()
                    if not target.is_relative_to(root):
                        self.report.files_skipped += 1
                        self.report.warn(f"{rel}: skipped, a symlink to {target}, outside the export folder")
                        continue
                    if target.is_dir():
                        continue
                files.append(path)
        return sorted(files)

    def _entries(self, folder: Path) -> list[os.DirEntry[str]]:
        with self._scandir(folder) as it:
            return list(it)

    def pages(self, since: str | None = None) -> Iterable[Page]:
        pages = self._load()
        return [p for p in pages.values() if since is None or p.last_modified >= since]

    def page_ids(self) -> set[str]:
        return set(self._load())
