"""GET requests to the Confluence REST API v1, with our retry policy and `_links.next` pagination.

The HTTP session, authentication and URL handling are atlassian-python-api's `Confluence` client (Cloud: account
email + API token as basic auth; Server/Data Center: a personal access token as a bearer token). Its own retry
helpers are switched off, because they sleep with `time.sleep` and retry a 429 only once: the policy here is ours,
with the clock and `sleep` injected so tests never wait.

- 429: wait for `Retry-After` (seconds or an HTTP date), capped; exponential backoff when the header is absent.
- 5xx, timeouts, refused or dropped connections: exponential backoff with jitter.
- Each request has a bounded total (`budget_seconds`, measured on the injected clock); when it is spent the request
  fails with `ConfluenceUnavailable`, and nothing is published.
- 400/401/403/404 and non-JSON answers fail at once with a message naming the likely cause.

Pagination follows `_links.next` until it is absent and never stops on a count: the server caps `limit` (at 100
when the body is expanded), so a short page does not mean the last page.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ingest.exceptions import ConfluenceUnavailable, SourceError

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    budget_seconds: float = 120.0  # total time one request may spend on retries (clock time, waits included)
    retry_after_cap: float = 60.0  # never wait longer than this for one Retry-After
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_attempts: int = 12  # a second bound, for servers that answer Retry-After: 0 forever


def backoff_delay(attempt: int, policy: RetryPolicy, rng: Callable[[], float]) -> float:
    """Exponential backoff with jitter ("equal jitter": half fixed, half random), for attempt 1, 2, ... (pure)."""
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + rng() * ceiling / 2


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None when absent or unusable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def next_url(doc: Mapping[str, Any], current_url: str) -> str | None:
    """The absolute URL of the next page of results, or None on the last page (pure).

    Confluence writes `_links.next` relative to `_links.base` (Cloud: ".../wiki"), sometimes with the context path
    already in it, sometimes as a full URL.
    """
    links = doc.get("_links") if isinstance(doc, Mapping) else None
    nxt = links.get("next") if isinstance(links, Mapping) else None
    if isinstance(nxt, Mapping):
        nxt = nxt.get("href")
    if not nxt or not isinstance(nxt, str):
        return None
    if urlsplit(nxt).scheme:
        return nxt
    cur = urlsplit(current_url)
    site = f"{cur.scheme}://{cur.netloc}"
    base = str(links.get("base") or "").rstrip("/")
    context = str(links.get("context") or (urlsplit(base).path if base else "")).rstrip("/")
    if not nxt.startswith("/"):
        nxt = "/" + nxt
    if context and (nxt == context or nxt.startswith(context + "/")):
        return site + nxt
    if base:
        return base + nxt
    return site + nxt


def _describe(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0]
    return f"{exc.__class__.__name__}: {text[:200]}"


def _error_message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or "")[:200].strip()
    if isinstance(body, Mapping):
        for key in ("message", "errorMessage", "reason"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:200]


class ConfluenceHTTP:
    """One Confluence site. `calls` counts HTTP requests sent (retries included); `retries` counts the retries."""

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        token: str = "",
        client: Any | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"CONFLUENCE_URL={url!r} must start with https:// (or http://)")
        self.url = url.rstrip("/")
        self.user = user
        self._token = token
        self._client = client
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.calls = 0
        self.retries = 0

    def __repr__(self) -> str:  # never the token
        return f"ConfluenceHTTP({self.url!r}, user={self.user!r})"

    @property
    def deployment(self) -> str:
        return "cloud" if self.user else "server"

    @property
    def client(self) -> Any:
        if self._client is None:
            from atlassian import Confluence

            common = {
                "timeout": self.timeout,
                "backoff_and_retry": False,  # our policy (injected clock and sleep), not the library's
                "retry_with_header": False,
            }
            if self.user:  # Cloud: account email + API token
                self._client = Confluence(self.url, username=self.user, password=self._token, cloud=True, **common)
            else:  # Server / Data Center: personal access token
                self._client = Confluence(self.url, token=self._token, cloud=False, **common)
            self._client.timeout = self.timeout  # the constructor rounds it down to whole seconds
        return self._client

    def absolute(self, path: str) -> str:
        return path if urlsplit(path).scheme else f"{self.url}/{path.lstrip('/')}"

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GET, retried under the policy; returns the decoded JSON object."""
        import requests

        url = self.absolute(url)
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            retry_after: float | None = None
            try:
                response = self.client.get(url, params=dict(params or {}), absolute=True, advanced_mode=True)
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem, cause = _describe(exc), exc
            else:
                status = response.status_code
                if status < 400:
                    return self._decode(response, url)
                if status not in RETRY_STATUS:
                    raise self._fatal(status, response, url)
                problem, cause = f"HTTP {status}", None
                if status == 429:
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                delay = min(retry_after, self.policy.retry_after_cap)
            else:
                delay = backoff_delay(attempt, self.policy, self.rng)
            elapsed = self.clock() - started
            if elapsed + delay > self.policy.budget_seconds or attempt >= self.policy.max_attempts:
                raise ConfluenceUnavailable(
                    f"Confluence unreachable at {self.url}: {problem} on {attempt} attempt(s) over {elapsed:.0f}s "
                    f"(retry budget {self.policy.budget_seconds:.0f}s); nothing was published, the last index "
                    "keeps serving"
                ) from cause
            self.retries += 1
            log.info("confluence retry", extra={"attempt": attempt, "problem": problem, "delay_s": round(delay, 2)})
            self.sleep(delay)

    def _decode(self, response: Any, url: str) -> dict[str, Any]:
        try:
            doc = response.json()
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "unknown")
            raise SourceError(
                f"Confluence at {self.url} answered {url.split('?')[0]} with {kind}, not JSON: check CONFLUENCE_URL "
                "(the site base, e.g. https://acme.atlassian.net/wiki) and that no login page is in the way"
            ) from exc
        if not isinstance(doc, dict):
            raise SourceError(
                f"Confluence answered {url.split('?')[0]} with a JSON {type(doc).__name__}, not an object"
            )
        return doc

    def _fatal(self, status: int, response: Any, url: str) -> SourceError:
        detail = _error_message(response)
        where = url.split("?")[0]
        if status == 401:
            how = (
                "CONFLUENCE_USER must be the account email and CONFLUENCE_TOKEN an API token (Cloud)"
                if self.user
                else "CONFLUENCE_TOKEN must be a valid personal access token (Server/Data Center; leave "
                "CONFLUENCE_USER empty), or set CONFLUENCE_USER for Cloud"
            )
            return SourceError(f"Confluence at {self.url} rejected the credentials (HTTP 401): {how}")
        if status == 403:
            return SourceError(f"Confluence refused {where} (HTTP 403): the account lacks permission. {detail}")
        if status == 404:
            return SourceError(
                f"Confluence has no {where} (HTTP 404): check CONFLUENCE_URL (Cloud sites end in /wiki). {detail}"
            )
        if status == 400:
            return SourceError(f"Confluence rejected the request (HTTP 400): {detail}")
        return SourceError(f"Confluence answered {where} with HTTP {status}: {detail}")

    def paginate(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Each page of results in turn, following `_links.next` until it is absent."""
        url: str | None = self.absolute(path)
        query: Mapping[str, Any] | None = params
        while url is not None:
            doc = self.get(url, query)
            if not isinstance(doc.get("results"), list):
                raise SourceError(f"Confluence answered {url.split('?')[0]} without a results list")
            yield doc
            url, query = next_url(doc, url), None
