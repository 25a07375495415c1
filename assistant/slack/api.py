"""Slack Web API calls with the errors handled: `ratelimited` waits Retry-After (bounded) and retries;
`channel_not_found`, `not_in_channel` and the rest are logged (method, error code, channel: never text or
tokens) and reported as None, so callers decide the fallback and nothing raises out of a worker."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger("helpdesk.slack")

MAX_RATELIMIT_WAIT = 10.0  # seconds; a longer Retry-After gives up rather than hold the worker


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class SlackApi:
    def __init__(
        self,
        client: WebClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 3,
        max_wait: float = MAX_RATELIMIT_WAIT,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self.attempts = attempts
        self.max_wait = max_wait
        self.last_error = ""

    def call(self, method: str, *, form: bool = False, **params: Any) -> dict[str, Any] | None:
        """The response data, or None after logging why not. `ratelimited` waits Retry-After (at most `max_wait`)
        and retries. Read methods (users.info, conversations.replies, …) take form parameters (`form=True`)."""
        self.last_error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                if form:
                    return dict(self.client.api_call(method, http_verb="POST", data=params).data)
                return dict(self.client.api_call(method, json=params).data)
            except SlackApiError as exc:
                response = exc.response
                data = response.data if response is not None and isinstance(response.data, dict) else {}
                error = str(data.get("error", ""))
                self.last_error = error or "unknown_error"
                if error == "ratelimited" or (response is not None and response.status_code == 429):
                    wait = _retry_after(response.headers if response is not None else {})
                    if attempt < self.attempts and wait <= self.max_wait:
                        log.warning(
                            "slack ratelimited", extra={"slack_method": method, "retry_after": wait, "attempt": attempt}
                        )
                        self.sleep(wait)
                        continue
                log.warning(
                    "slack api error",
                    extra={
                        "slack_method": method,
                        "slack_error": self.last_error,
                        "channel": params.get("channel", ""),
                    },
                )
                return None
            except (SlackClientError, OSError) as exc:
                self.last_error = exc.__class__.__name__
                log.warning("slack api unreachable", extra={"slack_method": method, "error": self.last_error})
                return None
        return None

    def read(self, method: str, **params: Any) -> dict[str, Any] | None:
        return self.call(method, form=True, **params)

    # --- the calls the bot makes ---------------------------------------------------------------------------
    def post(self, channel: str, text: str, blocks: Sequence[dict] = (), thread_ts: str | None = None) -> Posted | None:
        params: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False, "unfurl_media": False}
        if blocks:
            params["blocks"] = list(blocks)
        if thread_ts:
            params["thread_ts"] = thread_ts
        data = self.call("chat.postMessage", **params)
        if not data:
            return None
        return Posted(str(data.get("channel") or channel), str(data.get("ts", "")))

    def update(self, channel: str, ts: str, text: str, blocks: Sequence[dict] = ()) -> bool:
        params: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        params["blocks"] = list(blocks)
        return self.call("chat.update", **params) is not None

    def ephemeral(self, channel: str, user: str, text: str, blocks: Sequence[dict] = (), thread_ts: str = "") -> bool:
        params: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks:
            params["blocks"] = list(blocks)
        if thread_ts:
            params["thread_ts"] = thread_ts
        return self.call("chat.postEphemeral", **params) is not None

    def publish_home(self, user: str, view: dict) -> bool:
        return self.call("views.publish", user_id=user, view=view) is not None

    def user(self, user: str) -> dict[str, Any]:
        data = self.read("users.info", user=user)
        return dict(data.get("user") or {}) if data else {}

    def replies(self, channel: str, ts: str, limit: int = 100) -> list[dict[str, Any]]:
        data = self.read("conversations.replies", channel=channel, ts=ts, limit=limit)
        return list(data.get("messages") or []) if data else []

    def group_members(self, usergroup: str) -> list[str]:
        data = self.read("usergroups.users.list", usergroup=usergroup)
        return [str(u) for u in data.get("users") or []] if data else []

    def permalink(self, channel: str, ts: str) -> str:
        """A link to the message (the thread), for the ticket and the IT email; "" when Slack cannot give one."""
        data = self.read("chat.getPermalink", channel=channel, message_ts=ts)
        return str(data.get("permalink") or "") if data else ""

    def whoami(self) -> dict[str, Any]:
        return self.read("auth.test") or {}


def _retry_after(headers: Any) -> float:
    raw = None
    if headers:
        for key in ("Retry-After", "retry-after"):
            value = headers.get(key) if hasattr(headers, "get") else None
            if value:
                raw = value[0] if isinstance(value, list) else value
                break
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0
