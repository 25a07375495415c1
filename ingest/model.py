"""The page record every knowledge source produces."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Page:
    page_id: str
    title: str
    version: int
    url: str
    body: str  # Confluence storage format (XHTML with ac:/ri: elements)
    space_key: str = ""
    ancestors: tuple[str, ...] = ()  # ancestor titles, root first
    labels: tuple[str, ...] = ()
    last_modified: str = ""  # ISO-8601 from version.when
    restricted: bool = False

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in a chunk changes."""
        h = hashlib.sha256()
        for part in (self.title, "\x1f".join(self.ancestors), self.url, self.body):
            h.update(part.encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()
