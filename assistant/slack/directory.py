"""Who is who in Slack, cached: the bot itself, a user's name and email (the ticket's requester), and whether a
user is in the IT group (user ids, and user groups resolved to their members)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from assistant.slack.api import SlackApi
from assistant.tickets.desk import Requester

GROUP_CACHE_SECONDS = 300.0
USER_CACHE_SECONDS = 600.0


class SlackDirectory:
    def __init__(self, it_group: Sequence[str], *, clock: Callable[[], float]) -> None:
        self.it_group = tuple(it_group)  # user ids (U…/W…) and/or user-group ids (S…)
        self.clock = clock
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._groups: dict[str, tuple[float, set[str]]] = {}
        self._me: dict[str, Any] | None = None

    def me(self, api: SlackApi, context: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """(bot user id, app id): from the request when it carried them, else one cached auth.test."""
        user = context.get("bot_user_id")
        if user:
            return str(user), None
        if self._me is None:
            self._me = api.whoami()
        return self._me.get("user_id"), self._me.get("app_id")

    def user_info(self, api: SlackApi, user_id: str) -> dict[str, Any]:
        now = self.clock()
        cached = self._users.get(user_id)
        if cached and cached[0] > now:
            return cached[1]
        info = api.user(user_id)
        if info:
            self._users[user_id] = (now + USER_CACHE_SECONDS, info)
        return info

    def requester(self, api: SlackApi, user_id: str, channel: str = "", thread_ts: str = "") -> Requester:
        """The person as a ticket names them (profile name and email), and the thread with its permalink."""
        info = self.user_info(api, user_id) if user_id else {}
        profile = info.get("profile") or {}
        name = profile.get("real_name") or info.get("real_name") or info.get("name") or ""
        link = api.permalink(channel, thread_ts) if channel and thread_ts else ""
        return Requester(
            user_id=user_id,
            name=str(name),
            email=str(profile.get("email") or ""),
            channel=channel,
            thread_ts=thread_ts,
            permalink=link,
        )

    def is_it(self, api: SlackApi, user_id: str) -> bool:
        now = self.clock()
        for member in self.it_group:
            if member == user_id:
                return True
            if member.startswith("S"):
                cached = self._groups.get(member)
                if not cached or cached[0] <= now:
                    cached = (now + GROUP_CACHE_SECONDS, set(api.group_members(member)))
                    self._groups[member] = cached
                if user_id in cached[1]:
                    return True
        return False
