"""A local fake of the Slack Web API for tests and benchmarks: an HTTP server on 127.0.0.1 that the real slack_sdk
WebClient talks to (base_url=fake.api_url). It records every call, keeps the messages it was asked to post (so
conversations.replies returns real threads), and can fail on demand (ratelimited with Retry-After,
channel_not_found, not_in_channel, ...). It also serves response_url posts at /response/<id>.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlparse

from fakes.http import LocalHTTPFake

BOT_USER = "U0BOT0001"
BOT_ID = "B0BOT0001"
APP_ID = "A0APP0001"
TEAM = "T0TEAM001"
ALICE = "U0ALICE01"
BOB = "U0BOB0001"
IVY = "U0ITPERS1"  # in the IT user group S0ITGROUP
TOKEN = "xoxb-test-token-not-real"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str = ""


@dataclass
class _Failure:
    method: str
    error: str
    times: int
    channel: str | None
    retry_after: float | None
    after: int = 0


@dataclass
class FakeSlackApi(LocalHTTPFake):
    token: str = TOKEN
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._failures: list[_Failure] = []
        self._ts = itertools.count(1)

    # --- lifecycle -----------------------------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode("utf-8") if length else ""
        url = urlparse(h.path)
        if h.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(raw or "{}")
        else:
            params = dict(parse_qsl(raw, keep_blank_values=True))
        params.update(dict(parse_qsl(url.query)))
        auth = h.headers.get("Authorization", "")
        status, headers, body = self._dispatch(url.path, params, auth.removeprefix("Bearer "))
        data = json.dumps(body).encode("utf-8")
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @property
    def base(self) -> str:
        return self.origin

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/response/{name}"

    # --- test controls -------------------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        channel: str | None = None,
        retry_after: float | None = None,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` (to `channel`, if given; after `after` calls that succeed) fail with
        `error`; `retry_after` makes it an HTTP 429 with that Retry-After header, as Slack's rate limiting does."""
        with self._lock:
            self._failures.append(_Failure(method, error, times, channel, retry_after, after))

    def add_user(self, user_id: str, name: str = "", email: str = "") -> None:
        profile = {"real_name": name or user_id, "display_name": name}
        if email:
            profile["email"] = email
        self.users[user_id] = {"id": user_id, "name": (name or user_id).lower(), "real_name": name, "profile": profile}

    def add_message(self, channel: str, ts: str, *, user: str, text: str, thread_ts: str | None = None) -> None:
        """A message a person wrote (so conversations.replies can return it)."""
        msg = {"type": "message", "user": user, "text": text, "ts": ts}
        if thread_ts:
            msg["thread_ts"] = thread_ts
        with self._lock:
            self._messages.setdefault(channel, []).append(msg)

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they stand now (after chat.update), in posting order."""
        with self._lock:
            if channel is not None:
                return [dict(m) for m in self._messages.get(channel, [])]
            return [dict(m) for msgs in self._messages.values() for m in msgs]

    def bot_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.messages(channel) if m.get("bot_id") == BOT_ID]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._messages.clear()

    # --- the API -------------------------------------------------------------------------------------------
    def _take_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if f.method == method and f.times > 0 and (f.channel is None or f.channel == params.get("channel")):
                    if f.after > 0:
                        f.after -= 1
                        return None
                    f.times -= 1
                    return f
        return None

    def _dispatch(self, path: str, params: dict[str, Any], token: str) -> tuple[int, dict[str, str], dict]:
        if path.startswith("/response/"):
            with self._lock:
                self._calls.append(Call("response_url", {"name": path.rsplit("/", 1)[1], **params}))
            return 200, {}, {"ok": True}
        method = path.removeprefix("/api/")
        with self._lock:
            self._calls.append(Call(method, dict(params), token))
        if self.token and token != self.token:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        failure = self._take_failure(method, params)
        if failure is not None:
            if failure.retry_after is not None:
                return 429, {"Retry-After": str(int(failure.retry_after))}, {"ok": False, "error": "ratelimited"}
            return 200, {}, {"ok": False, "error": failure.error}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        return 200, {}, handler(params)

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1700009000 + n}.{n:06d}"  # later than the fixtures' messages, as a reply would be

    def _api_auth_test(self, p: dict) -> dict:
        return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "user": "helpdesk"}

    def _api_chat_postMessage(self, p: dict) -> dict:
        channel = str(p.get("channel", ""))
        if channel[:1] in ("U", "W"):
            channel = "D" + channel[1:]  # posting to a user id lands in the app's DM with them
        ts = self._next_ts()
        msg = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID, "ts": ts}
        msg.update(text=p.get("text", ""), blocks=p.get("blocks") or [])
        if p.get("thread_ts"):
            msg["thread_ts"] = p["thread_ts"]
        with self._lock:
            self._messages.setdefault(channel, []).append(msg)
        return {"ok": True, "channel": channel, "ts": ts, "message": msg}

    def _api_chat_update(self, p: dict) -> dict:
        channel, ts = str(p.get("channel", "")), str(p.get("ts", ""))
        with self._lock:
            for msg in self._messages.get(channel, []):
                if msg["ts"] == ts:
                    msg.update(text=p.get("text", ""), blocks=p.get("blocks") or [], edited=True)
                    return {"ok": True, "channel": channel, "ts": ts}
        return {"ok": False, "error": "message_not_found"}

    def _api_chat_postEphemeral(self, p: dict) -> dict:
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_chat_getPermalink(self, p: dict) -> dict:
        channel, ts = str(p.get("channel", "")), str(p.get("message_ts", ""))
        with self._lock:
            known = any(m["ts"] == ts or m.get("thread_ts") == ts for m in self._messages.get(channel, []))
        if not known:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _api_reactions_add(self, p: dict) -> dict:
        return {"ok": True}

    def _api_views_open(self, p: dict) -> dict:
        if not p.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": {"id": f"V{self._next_ts().replace('.', '')}", **(p.get("view") or {})}}

    def _api_views_publish(self, p: dict) -> dict:
        return {"ok": True, "view": {"id": "V1", **(p.get("view") or {})}}

    def _api_users_info(self, p: dict) -> dict:
        user = self.users.get(str(p.get("user", "")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _api_usergroups_users_list(self, p: dict) -> dict:
        users = self.groups.get(str(p.get("usergroup", "")))
        return {"ok": True, "users": users} if users is not None else {"ok": False, "error": "no_such_subteam"}

    def _api_conversations_replies(self, p: dict) -> dict:
        channel, ts = str(p.get("channel", "")), str(p.get("ts", ""))
        with self._lock:
            msgs = [dict(m) for m in self._messages.get(channel, []) if m["ts"] == ts or m.get("thread_ts") == ts]
        if not msgs:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": sorted(msgs, key=lambda m: float(m["ts"])), "has_more": False}


def iter_texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every text in a message's blocks (sections, context elements, button labels)."""
    for block in blocks or []:
        if isinstance(block.get("text"), dict):
            yield str(block["text"].get("text", ""))
        for el in block.get("elements") or []:
            if isinstance(el, dict):
                yield str(
                    el.get("text", {}).get("text", "") if isinstance(el.get("text"), dict) else el.get("text", "")
                )
        if isinstance(block.get("accessory"), dict):
            yield str(block["accessory"].get("text", {}).get("text", ""))
