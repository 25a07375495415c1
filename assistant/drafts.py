"""Knowledge-base drafts from resolved tickets: a DRAFT Confluence page holding the question, how IT resolved it and
the pages that were not enough, so a writer can turn it into a page the assistant finds next time.

`draft_page` builds the page (pure); `ConfluenceDrafts` makes one REST call (atlassian-python-api's
`create_page(..., status="draft")`, POST /rest/api/content) in the gap space, under the gap parent when set. The
account needs write permission in that one space only (docs/operations.md).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from assistant.exceptions import AssistantError
from assistant.tickets.base import Ticket
from core.errors import ConfigError

MAX_TITLE = 200  # Confluence allows 255; the ticket id is appended
MAX_REASON = 300


class DraftError(AssistantError):
    """Confluence did not create the draft (refused, failed or unreachable); the ticket itself is unaffected."""


class DraftPublisher(Protocol):
    def create_draft(self, title: str, body: str) -> str:
        """Create a draft page (storage-format `body`); returns its URL. Raises DraftError."""
        ...


def draft_title(ticket: Ticket) -> str:
    """One line, unique per ticket (Confluence titles are unique in a space)."""
    line = " ".join(ticket.question.split()) or "Untitled question"
    if len(line) > MAX_TITLE:
        line = line[: MAX_TITLE - 1].rstrip() + "…"
    return f"{line} ({ticket.ticket_id})"


def draft_page(ticket: Ticket, note: str = "") -> tuple[str, str]:
    """(title, storage-format XHTML body) of the draft for a resolved ticket (pure; every value escaped)."""
    e = html.escape
    note = note or ticket.resolution_note
    parts = [
        f"<p><em>Draft from helpdesk ticket {e(ticket.ticket_id)}: the assistant could not answer this from the "
        "knowledge base. Edit, then publish; or delete it.</em></p>",
        "<h2>Question</h2>",
        f"<p>{e(ticket.question).replace(chr(10), '<br />')}</p>",
        "<h2>Resolution</h2>",
        f"<p>{e(note).replace(chr(10), '<br />')}</p>" if note else "<p><em>(no resolution note)</em></p>",
        "<h2>Pages that were not enough</h2>",
    ]
    if ticket.sources:
        items = []
        for s in ticket.sources:
            title, url = str(s.get("title") or s.get("url") or "untitled"), str(s.get("url") or "")
            score = s.get("score")
            label = e(title) + (f" (score {score:.2f})" if isinstance(score, int | float) else "")
            link = f'<a href="{e(url)}">{label}</a>' if url.startswith(("http://", "https://")) else label
            items.append(f"<li>{link}</li>")
        parts.append("<ul>" + "".join(items) + "</ul>")
    else:
        parts.append("<p><em>(none found)</em></p>")
    if ticket.permalink.startswith("https://"):
        parts.append(f'<p>Slack thread: <a href="{e(ticket.permalink)}">{e(ticket.permalink)}</a></p>')
    return draft_title(ticket), "".join(parts)


def missing_setting(url: str, token: str, space: str) -> str:
    """The first setting a draft needs that is not set, as a sentence naming it; "" when all are (pure)."""
    if not space:
        return "HELPDESK_GAP_SPACE is not set (the key of the Confluence space for knowledge-base drafts)"
    if not url:
        return "CONFLUENCE_URL is not set (e.g. https://acme.atlassian.net/wiki)"
    if not token:
        return "CONFLUENCE_TOKEN is not set (with CONFLUENCE_USER on Cloud), nor CONFLUENCE_SECRET_ARN"
    return ""


def page_url(response: Mapping[str, Any], site: str) -> str:
    """The created page's address from the REST answer (`_links.base` + `_links.webui`), pure."""
    links = response.get("_links") or {}
    webui = str(links.get("webui") or links.get("tinyui") or "")
    if webui.startswith(("http://", "https://")):
        return webui
    base = str(links.get("base") or site).rstrip("/")
    return base + webui if webui else f"{base}/pages/viewpage.action?pageId={response.get('id', '')}"


def _describe(exc: Exception) -> str:
    """One line for a failed create: atlassian-python-api wraps the HTTP error (403: ApiPermissionError) in
    `reason`; requests errors carry the response themselves."""
    response = getattr(exc, "response", None)  # a requests Response is falsy for 4xx/5xx: compare with None
    if response is None:
        response = getattr(getattr(exc, "reason", None), "response", None)
    status = getattr(response, "status_code", None)
    text = " ".join(str(exc).split())[:MAX_REASON]
    if status == 403:
        return f"Confluence refused the draft (HTTP 403): the account needs write permission in the space. {text}"
    if status is not None:
        return f"Confluence did not create the draft (HTTP {status}): {text}"
    return f"Confluence unreachable ({exc.__class__.__name__}): {text}"


class ConfluenceDrafts:
    """Drafts in one Confluence space (Cloud: account email + API token; Server/DC: a personal access token)."""

    def __init__(
        self,
        url: str,
        space: str,
        *,
        user: str = "",
        token: str = "",
        parent_id: str = "",
        timeout: float = 30.0,
        client: Any | None = None,
        credentials: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        """`credentials`: returns (user, token) on first use, for a token kept in a secret (the Lambda)."""
        problem = missing_setting(url, token or ("secret" if credentials or client else ""), space)
        if problem:
            raise ConfigError(problem)
        self.url = url.rstrip("/")
        self.space = space
        self.parent_id = parent_id
        self.user = user
        self._token = token
        self.timeout = timeout
        self._client = client
        self._credentials = credentials

    def __repr__(self) -> str:  # never the token
        return f"ConfluenceDrafts({self.url!r}, space={self.space!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            from atlassian import Confluence

            if not self._token and self._credentials is not None:
                try:
                    self.user, self._token = self._credentials()
                except Exception as exc:
                    raise DraftError(f"cannot read the Confluence credentials for drafts: {exc}") from exc

            # The REST API v1 client for both deployments: its `cloud=True` variant routes to a Cloud class without
            # `create_page`; POST /rest/api/content is the same on Cloud, with the account email + token as basic auth.
            common = {"timeout": self.timeout, "backoff_and_retry": False, "cloud": False}
            if self.user:
                self._client = Confluence(self.url, username=self.user, password=self._token, **common)
            else:
                self._client = Confluence(self.url, token=self._token, **common)
        return self._client

    def create_draft(self, title: str, body: str) -> str:
        import requests
        from atlassian.errors import ApiError

        client = self.client
        try:
            response = client.create_page(
                self.space, title, body, parent_id=self.parent_id or None, representation="storage", status="draft"
            )
        except (requests.RequestException, ApiError) as exc:
            raise DraftError(_describe(exc)) from exc
        if not isinstance(response, Mapping):
            raise DraftError(f"Confluence answered the draft with {type(response).__name__}, not a page")
        return page_url(response, self.url)
