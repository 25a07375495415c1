"""A local HTTP fake of the Confluence REST API v1, on 127.0.0.1, for the real atlassian-python-api client.

Serves, under a context path (default "/wiki", like Cloud):
- `GET /rest/api/content/search?cql=...&expand=...&limit=...`: the CQL subset the ingest writes (`space in (...)`,
  `space = X`, `type = page`, `lastmodified >= "yyyy-MM-dd HH:mm"`, `label = x`, `label not in (...)`,
  `ORDER BY lastmodified|created|title`), paginated by `_links.next` (relative, Cloud style, with
  `_links.base` and `_links.context`);
- `GET /rest/api/content?spaceKey=KEY&type=page&expand=...&start=&limit=`: the space listing the export uses;
- `GET /rest/api/content/{id}`;
- `POST /rest/api/content` (create a page, e.g. a draft): the decoded body is recorded in `created`, and the
  answer carries a new id and `_links.webui` / `_links.base`.

`limit` is capped at 100 when the body is expanded (`body_cap`), at `plain_cap` otherwise. Auth is checked: basic
(`user` + `token`, Cloud) or bearer (`token` only, Server/DC). Faults: `fail(status, times, retry_after=...)`
answers the next requests with an error, `drop(times)` closes connections without an answer, `delay(seconds,
times)` answers late (client timeouts), `down = True` answers 503 to everything. `calls` records each request.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fakes.http import LocalHTTPFake


@dataclass
class FakePage:
    id: str
    title: str
    space: str
    body: str
    version: int = 1
    when: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    created: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    labels: list[str] = field(default_factory=list)
    parent: str | None = None
    restricted_users: list[str] = field(default_factory=list)
    restricted_groups: list[str] = field(default_factory=list)


class CqlError(ValueError):
    pass


def _strings(inner: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|([^\s,"()]+)', inner)]


def parse_cql(cql: str) -> tuple[list[Any], str]:
    """(predicates, order field) for the supported subset; CqlError otherwise."""
    text = cql.strip()
    order = ""
    m = re.search(r"\s+ORDER\s+BY\s+(\w+)(?:\s+(?:asc|desc))?\s*$", text, re.IGNORECASE)
    if m:
        order, text = m.group(1).lower(), text[: m.start()]
    preds: list[Any] = []
    for raw in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE):
        clause = raw.strip()
        while clause.startswith("(") and clause.endswith(")"):
            clause = clause[1:-1].strip()
        if m := re.fullmatch(r"space\s+in\s*\((.*)\)", clause, re.IGNORECASE):
            keys = set(_strings(m.group(1)))
            preds.append(lambda p, keys=keys: p.space in keys)
        elif m := re.fullmatch(r'space\s*=\s*"?([^"]+)"?', clause, re.IGNORECASE):
            key = m.group(1)
            preds.append(lambda p, key=key: p.space == key)
        elif re.fullmatch(r'type\s*=\s*"?page"?', clause, re.IGNORECASE):
            continue
        elif m := re.fullmatch(r'lastmodified\s*>=\s*"(\d{4}[-/]\d\d[-/]\d\d(?: \d\d:\d\d)?)"', clause, re.IGNORECASE):
            raw_date = m.group(1).replace("/", "-")
            fmt = "%Y-%m-%d %H:%M" if " " in raw_date else "%Y-%m-%d"
            since = datetime.strptime(raw_date, fmt).replace(tzinfo=UTC)
            preds.append(lambda p, since=since: p.when >= since)
        elif m := re.fullmatch(r'label\s*=\s*"?([^"]+)"?', clause, re.IGNORECASE):
            lab = m.group(1)
            preds.append(lambda p, lab=lab: lab in p.labels)
        elif m := re.fullmatch(r"label\s+not\s+in\s*\((.*)\)", clause, re.IGNORECASE):
            labs = set(_strings(m.group(1)))
            preds.append(lambda p, labs=labs: not labs & set(p.labels))
        else:
            raise CqlError(f"Could not parse cql: {cql}")
    return preds, order


class ConfluenceFake(LocalHTTPFake):
    def __init__(
        self,
        *,
        user: str = "bot@example.com",
        token: str = "fake-token",
        context: str = "/wiki",
        body_cap: int = 100,
        plain_cap: int = 1000,
        step: timedelta = timedelta(days=1),
    ) -> None:
        self.user = user
        self.token = token
        self.context = context.rstrip("/")
        self.body_cap = body_cap
        self.plain_cap = plain_cap
        self.step = step  # how far the fake's clock moves on each add or edit
        self.pages: dict[str, FakePage] = {}
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.calls: list[tuple[str, dict[str, list[str]]]] = []
        self.created: list[dict[str, Any]] = []  # bodies of POST /rest/api/content, in order
        self.down = False
        self._faults: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    # --- lifecycle: LocalHTTPFake; every request reaches handle() ----------------------------------
    @property
    def site(self) -> str:
        return self.origin

    @property
    def url(self) -> str:
        return self.site + self.context

    # --- content ----------------------------------------------------------------------------------
    def tick(self, step: timedelta | None = None) -> datetime:
        self.now += self.step if step is None else step
        return self.now

    def add_page(self, pid: str, title: str, body: str, *, space: str = "IT", **kw: Any) -> FakePage:
        when = kw.pop("when", None) or self.tick()
        page = FakePage(id=pid, title=title, space=space, body=body, when=when, created=when, **kw)
        self.pages[pid] = page
        return page

    def edit(self, pid: str, **changes: Any) -> FakePage:
        """A new version: body/title/labels/parent changes bump the version and the modification time."""
        page = self.pages[pid]
        for key, value in changes.items():
            setattr(page, key, value)
        page.version += 1
        page.when = self.tick()
        return page

    def delete(self, pid: str) -> None:
        del self.pages[pid]

    # --- faults -----------------------------------------------------------------------------------
    def fail(self, status: int, times: int = 1, *, retry_after: str | None = None) -> None:
        self._faults.extend([("status", (status, retry_after))] * times)

    def drop(self, times: int = 1) -> None:
        self._faults.extend([("drop", None)] * times)

    def delay(self, seconds: float, times: int = 1) -> None:
        self._faults.extend([("delay", seconds)] * times)

    def count(self, endpoint: str) -> int:
        """Requests made to an endpoint: "search", "content" (space listing) or "page"."""
        return Counter(_endpoint(p) for p, _ in self.calls)[endpoint]

    # --- HTTP ---------------------------------------------------------------------------------------
    def _authorised(self, header: str) -> bool:
        if self.user:
            expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
            return header == f"Basic {expected}"
        return header == f"Bearer {self.token}"

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        with self._lock:
            self.calls.append((parts.path, query))
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            kind, arg = fault
            if kind == "drop":
                h.close_connection = True
                h.connection.close()
                return
            if kind == "delay":
                time.sleep(arg)
            if kind == "status":
                status, retry_after = arg
                self._send(
                    h,
                    status,
                    {"statusCode": status, "message": "injected"},
                    {"Retry-After": retry_after} if retry_after else None,
                )
                return
        if self.down:
            self._send(h, 503, {"statusCode": 503, "message": "Service Unavailable"})
            return
        if not self._authorised(h.headers.get("Authorization", "")):
            self._send(h, 401, {"statusCode": 401, "message": "Unauthorized"})
            return
        path = parts.path
        if not path.startswith(self.context + "/rest/api/"):
            self._send(h, 404, {"statusCode": 404, "message": f"No route for {path}"})
            return
        rest = path[len(self.context + "/rest/api/") :].rstrip("/")
        one = lambda name: (query.get(name) or [""])[0]  # noqa: E731
        try:
            if h.command == "POST" and rest == "content":
                length = int(h.headers.get("Content-Length") or 0)
                self._send(h, 200, self._create(json.loads(h.rfile.read(length) or b"{}")))
            elif rest == "content/search":
                self._send(h, 200, self._search(one("cql"), one("expand"), one("limit"), one("start")))
            elif rest == "content":
                self._send(h, 200, self._list_space(one("spaceKey"), one("expand"), one("limit"), one("start")))
            elif rest.startswith("content/") and rest.count("/") == 1:
                page = self.pages.get(rest.split("/")[1])
                if page is None:
                    self._send(h, 404, {"statusCode": 404, "message": "No content found"})
                else:
                    self._send(h, 200, self._content(page, set(one("expand").split(","))))
            else:
                self._send(h, 404, {"statusCode": 404, "message": f"No route for {path}"})
        except CqlError as exc:
            self._send(h, 400, {"statusCode": 400, "message": str(exc)})

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.created.append(body)
            pid = str(900000 + len(self.created))
        space = str((body.get("space") or {}).get("key", ""))
        return {
            "id": pid,
            "type": body.get("type", "page"),
            "status": body.get("status", "current"),
            "title": body.get("title", ""),
            "space": {"key": space},
            "_links": {"webui": f"/spaces/{space}/pages/edit-v2/{pid}", "base": self.url, "context": self.context},
        }

    def _limit(self, raw: str, expand: set[str]) -> int:
        cap = self.body_cap if any(e.startswith("body.") for e in expand) else self.plain_cap
        try:
            asked = int(raw) if raw else 25
        except ValueError:
            asked = 25
        return max(1, min(asked, cap))

    def _page_of(
        self, items: list[FakePage], expand: set[str], start: int, limit: int, next_path: str, params: dict
    ) -> dict:
        chunk = items[start : start + limit]
        links = {"base": self.url, "context": self.context, "self": self.url + next_path}
        if start + len(chunk) < len(items):
            links["next"] = (
                next_path + "?" + urlencode({**params, "start": start + len(chunk), "limit": limit}, quote_via=quote)
            )
        return {
            "results": [self._content(p, expand) for p in chunk],
            "start": start,
            "limit": limit,
            "size": len(chunk),
            "_links": links,
        }

    def _search(self, cql: str, expand_raw: str, limit_raw: str, start_raw: str) -> dict:
        preds, order = parse_cql(cql)
        expand = set(filter(None, expand_raw.split(",")))
        with self._lock:
            items = [p for p in self.pages.values() if all(f(p) for f in preds)]
        key = {
            "lastmodified": lambda p: (p.when, p.id),
            "created": lambda p: (p.created, p.id),
            "title": lambda p: (p.title, p.id),
        }
        items.sort(key=key.get(order, lambda p: int(p.id) if p.id.isdigit() else p.id))
        limit = self._limit(limit_raw, expand)
        start = int(start_raw or 0)
        params = {"cql": cql, "expand": expand_raw, "next": "true", "cursor": f"c{start + limit}"}
        return {**self._page_of(items, expand, start, limit, "/rest/api/content/search", params), "cqlQuery": cql}

    def _list_space(self, space: str, expand_raw: str, limit_raw: str, start_raw: str) -> dict:
        expand = set(filter(None, expand_raw.split(",")))
        with self._lock:
            items = sorted((p for p in self.pages.values() if p.space == space), key=lambda p: (len(p.id), p.id))
        limit = self._limit(limit_raw, expand)
        params = {"spaceKey": space, "type": "page", "expand": expand_raw}
        return self._page_of(items, expand, int(start_raw or 0), limit, "/rest/api/content", params)

    def _restrictions(self, page: FakePage) -> dict:
        return {
            "read": {
                "operation": "read",
                "restrictions": {
                    "user": {
                        "results": [{"type": "known", "accountId": u} for u in page.restricted_users],
                        "size": len(page.restricted_users),
                    },
                    "group": {
                        "results": [{"type": "group", "name": g} for g in page.restricted_groups],
                        "size": len(page.restricted_groups),
                    },
                },
            }
        }

    def _ancestors(self, page: FakePage) -> list[FakePage]:
        chain, seen = [], set()
        parent = page.parent
        while parent and parent in self.pages and parent not in seen:
            seen.add(parent)
            chain.append(self.pages[parent])
            parent = self.pages[parent].parent
        return list(reversed(chain))

    def _content(self, page: FakePage, expand: set[str]) -> dict:
        obj: dict[str, Any] = {
            "id": page.id,
            "type": "page",
            "status": "current",
            "title": page.title,
            "_links": {
                "webui": f"/spaces/{page.space}/pages/{page.id}/" + page.title.replace(" ", "+"),
                "self": f"{self.url}/rest/api/content/{page.id}",
                "tinyui": f"/x/{page.id}",
            },
            "_expandable": {},
        }
        if "body.storage" in expand:
            obj["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        if "version" in expand:
            obj["version"] = {"number": page.version, "when": page.when.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        if "space" in expand:
            obj["space"] = {"key": page.space, "name": f"{page.space} space", "type": "global"}
        if "metadata.labels" in expand:
            obj["metadata"] = {
                "labels": {"results": [{"prefix": "global", "name": n} for n in page.labels], "size": len(page.labels)}
            }
        if "restrictions.read.restrictions.user" in expand:
            obj["restrictions"] = self._restrictions(page)
        if any(e == "ancestors" or e.startswith("ancestors.") for e in expand):
            ancestors = []
            for a in self._ancestors(page):
                item: dict[str, Any] = {"id": a.id, "type": "page", "title": a.title}
                if "ancestors.restrictions.read.restrictions.user" in expand:
                    item["restrictions"] = self._restrictions(a)
                ancestors.append(item)
            obj["ancestors"] = ancestors
        return obj


def load_export_into(fake: ConfluenceFake, folder: Any) -> list[str]:
    """Serve the pages of an export folder (e.g. the bundled sample space): tree, labels and bodies."""
    from pathlib import Path

    ids = []
    for file in sorted(Path(folder).glob("*.json")):
        for obj in json.loads(file.read_text(encoding="utf-8"))["results"]:
            ancestors = obj.get("ancestors") or []
            labels = [lab["name"] for lab in ((obj.get("metadata") or {}).get("labels") or {}).get("results", [])]
            fake.add_page(
                obj["id"],
                obj["title"],
                obj["body"]["storage"]["value"],
                space=obj["space"]["key"],
                labels=labels,
                parent=ancestors[-1]["id"] if ancestors else None,
            )
            ids.append(obj["id"])
    return ids


def _endpoint(path: str) -> str:
    if path.endswith("/content/search"):
        return "search"
    if path.endswith("/content"):
        return "content"
    return "page"
