"""`helpdesk export --space KEY [--space KEY...] --to PATH`: live Confluence -> the export format.

Each page of results from `GET /rest/api/content?spaceKey=KEY&type=page&expand=...` is written as one file
`PATH/<KEY>-<nnnn>.json`, exactly as the REST API returned it (`results`, `start`, `limit`, `size`, `_links`),
minus the pages with view restrictions when those are skipped (HELPDESK_SKIP_RESTRICTED, default true), so a
snapshot never holds what the bot would not answer from. `ExportSource` reads the folder back.

Nothing is lost on failure: the files are written to a temporary folder next to PATH and moved in only when every
space was read. A re-export replaces the `<KEY>-*.json` files of the spaces exported and leaves anything else alone.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from ingest.sources.confluence import (
    CONTENT_PATH,
    PAGE_EXPAND,
    PAGE_LIMIT,
    page_from_result,
)
from ingest.sources.confluence_http import ConfluenceHTTP
from ingest.sources.export import page_from_content


def filter_restricted(doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The page of results without pages that carry view restrictions, and how many were left out (pure)."""
    base = str((doc.get("_links") or {}).get("base") or "")
    kept, dropped = [], 0
    for obj in doc.get("results") or []:
        page = page_from_result(obj, base) if isinstance(obj, dict) else None
        if page is not None and page.restricted:
            dropped += 1
        else:
            kept.append(obj)
    return {**doc, "results": kept, "size": len(kept)}, dropped


def export_spaces(
    http: ConfluenceHTTP, spaces: tuple[str, ...], target: Path, *, skip_restricted: bool = True
) -> dict[str, Any]:
    """Write every space into `target` (atomically per run); returns counts per space."""
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--to {target} exists and is not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.export-"))
    report: dict[str, Any] = {"spaces": {}, "files": 0, "pages": 0, "restricted_skipped": 0}
    try:
        for space in spaces:
            pages = files = restricted = 0
            params = {"spaceKey": space, "type": "page", "expand": PAGE_EXPAND, "limit": PAGE_LIMIT}
            for doc in http.paginate(CONTENT_PATH, params):
                if skip_restricted:
                    doc, dropped = filter_restricted(doc)
                    restricted += dropped
                files += 1
                pages += sum(1 for obj in doc["results"] if page_from_content(obj) is not None)
                text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)
                (tmp / f"{space}-{files:04d}.json").write_text(text + "\n", encoding="utf-8")
            report["spaces"][space] = {"pages": pages, "files": files, "restricted_skipped": restricted}
            report["files"] += files
            report["pages"] += pages
            report["restricted_skipped"] += restricted
        target.mkdir(exist_ok=True)
        for space in spaces:
            for old in target.glob(f"{space}-[0-9]*.json"):
                old.unlink()
        for new in sorted(tmp.iterdir()):
            new.replace(target / new.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report
