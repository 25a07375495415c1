"""`KnowledgeSource` over live Confluence (Cloud or Server/Data Center), REST API v1 via atlassian-python-api.

- `pages(since)`: CQL `space in (...) AND type = page [AND (extra)] [AND lastmodified >= "..."] ORDER BY
  lastmodified` with the body, version, ancestors, space, labels and read restrictions expanded, following
  `_links.next` to the end.
- `page_ids()`: the full id listing for deletions, without bodies: only the ids still in scope (not restricted
  when restricted pages are skipped, not carrying an exclude label). The pipeline runs it on the configured period.

CQL dates are minutes in the timezone of the account's profile, so `since` is moved back by `WATERMARK_OVERLAP`
(a day covers every UTC offset); the pages listed again cost a listing entry and no embedding (same content hash).
Pages under an ancestor with view restrictions inherit them, so those count as restricted too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError
from ingest.model import Page
from ingest.sources.base import SourceReport
from ingest.sources.confluence_http import ConfluenceHTTP, RetryPolicy
from ingest.sources.export import page_from_content
from ingest.state import parse_when

if TYPE_CHECKING:
    from ingest.config import ConfluenceConfig, IngestConfig

SEARCH_PATH = "rest/api/content/search"
CONTENT_PATH = "rest/api/content"
_RESTRICTIONS = "restrictions.read.restrictions.user,restrictions.read.restrictions.group"
_ANCESTOR_RESTRICTIONS = "ancestors.restrictions.read.restrictions.user,ancestors.restrictions.read.restrictions.group"
PAGE_EXPAND = f"body.storage,version,ancestors,space,metadata.labels,{_RESTRICTIONS},{_ANCESTOR_RESTRICTIONS}"
ID_EXPAND = f"version,ancestors,metadata.labels,{_RESTRICTIONS},{_ANCESTOR_RESTRICTIONS}"
PAGE_LIMIT = 100  # what we ask for; the server may return fewer, and `_links.next` says whether more follow
ID_LIMIT = 1000
WATERMARK_OVERLAP = timedelta(days=1)
_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9_.-]{1,255}$")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def validate_spaces(spaces: Sequence[str]) -> tuple[str, ...]:
    keys = tuple(dict.fromkeys(s.strip() for s in spaces if s.strip()))
    if not keys:
        raise ConfigError(
            "no Confluence spaces to read: set CONFLUENCE_SPACES=KEY,KEY or use --source confluence:KEY,KEY"
        )
    bad = [k for k in keys if not _SPACE_KEY.match(k)]
    if bad:
        raise ConfigError(f"not a Confluence space key: {', '.join(map(repr, bad))}")
    return keys


def build_cql(spaces: Sequence[str], *, since: str | None = None, extra: str = "", order: str = "lastmodified") -> str:
    """The listing query (pure). `since` is an ISO timestamp; it is moved back by WATERMARK_OVERLAP."""
    parts = [f"space in ({','.join(_quote(s) for s in spaces)})", "type = page"]
    if extra.strip():
        parts.append(f"({extra.strip()})")
    if since:
        when = parse_when(since)
        if when is None:
            raise ValueError(f"not an ISO timestamp: {since!r}")
        parts.append(f'lastmodified >= "{(when - WATERMARK_OVERLAP):%Y-%m-%d %H:%M}"')
    return " AND ".join(parts) + f" ORDER BY {order}"


def _has_read_restrictions(obj: Mapping[str, Any]) -> bool:
    restrictions = obj.get("restrictions")
    if not isinstance(restrictions, Mapping):
        return False
    read = (restrictions.get("read") or {}).get("restrictions") or {}
    return bool(((read.get("user") or {}).get("results")) or ((read.get("group") or {}).get("results")))


def page_from_result(obj: Mapping[str, Any], base_url: str = "") -> Page | None:
    """A Page from one search result; restricted when it or any ancestor has view restrictions (pure)."""
    page = page_from_content(obj, base_url)
    if page is None or page.restricted:
        return page
    ancestors = obj.get("ancestors") or []
    if any(isinstance(a, Mapping) and _has_read_restrictions(a) for a in ancestors):
        return replace(page, restricted=True)
    return page


class ConfluenceSource:
    """Pages of some spaces of one Confluence site: an `IncrementalSource` (the pipeline passes a watermark as
    `since`) that counts its HTTP calls."""

    def __init__(
        self,
        http: ConfluenceHTTP,
        spaces: Sequence[str],
        *,
        cql: str = "",
        exclude_labels: Sequence[str] = ("helpdesk-exclude",),
        skip_restricted: bool = True,
    ) -> None:
        self.http = http
        self.spaces = validate_spaces(spaces)
        if re.search(r"\border\s+by\b", cql, re.IGNORECASE):
            raise ConfigError(f"CONFLUENCE_CQL={cql!r}: leave ORDER BY out; the listing orders by lastmodified")
        self.cql = cql
        self.exclude_labels = tuple(exclude_labels)
        self.skip_restricted = skip_restricted
        self.report = SourceReport()

    @classmethod
    def from_config(
        cls, config: ConfluenceConfig, ingest: IngestConfig, spaces: Sequence[str] = ()
    ) -> ConfluenceSource:
        return cls(
            http_from_config(config),
            spaces or config.spaces,
            cql=config.cql,
            exclude_labels=ingest.exclude_labels,
            skip_restricted=ingest.skip_restricted,
        )

    @property
    def state_key(self) -> str:
        """Names the scope; a watermark saved under another scope is not reused."""
        digest = hashlib.sha256(self.cql.strip().encode("utf-8")).hexdigest()[:12]
        return f"confluence:{self.http.url}:{','.join(sorted(self.spaces))}:{digest}"

    @property
    def calls(self) -> int:
        return self.http.calls

    def _results(self, cql: str, expand: str, limit: int) -> Iterator[tuple[Mapping[str, Any], str]]:
        for doc in self.http.paginate(SEARCH_PATH, {"cql": cql, "expand": expand, "limit": limit}):
            base = str((doc.get("_links") or {}).get("base") or self.http.url)
            for obj in doc["results"]:
                yield obj, base

    def pages(self, since: str | None = None) -> Iterator[Page]:
        cql = build_cql(self.spaces, since=since, extra=self.cql)
        for obj, base in self._results(cql, PAGE_EXPAND, PAGE_LIMIT):
            page = page_from_result(obj, base)
            if page is None:
                self.report.objects_skipped += 1
                kind = obj.get("type") if isinstance(obj, Mapping) else type(obj).__name__
                self.report.warn(f"CQL result skipped, not a page (type={kind!r})")
                continue
            yield page

    def page_ids(self) -> set[str]:
        cql = build_cql(self.spaces, extra=self.cql, order="created")
        ids: set[str] = set()
        for obj, base in self._results(cql, ID_EXPAND, ID_LIMIT):
            page = page_from_result(obj, base)
            if page is None:
                continue
            if self.skip_restricted and page.restricted:
                continue
            if set(page.labels) & set(self.exclude_labels):
                continue
            ids.add(page.page_id)
        return ids


def http_from_config(config: ConfluenceConfig) -> ConfluenceHTTP:
    if not config.url:
        raise ConfigError("CONFLUENCE_URL is not set (e.g. https://acme.atlassian.net/wiki)")
    if not config.token:
        raise ConfigError(
            "no Confluence credentials: set CONFLUENCE_TOKEN (an API token with CONFLUENCE_USER for Cloud, "
            "a personal access token for Server/Data Center), or CONFLUENCE_SECRET_ARN on Lambda"
        )
    return ConfluenceHTTP(
        config.url,
        user=config.user,
        token=config.token,
        timeout=config.timeout_seconds,
        policy=RetryPolicy(budget_seconds=config.retry_budget_seconds),
    )
