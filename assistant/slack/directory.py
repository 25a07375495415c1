"""Who is who in Slack, cached: the bot itself, a user's name and email (the ticket's requester), whether a
user is in the IT group (user ids, and user groups resolved to their members), and who may ask at all.

Who may ask: members of the workspace that installed the app. A person from another organisation in a Slack
Connect channel (the event's `user_team` differs from the installing team, or users.info says `is_stranger` or
names another team outside the installing enterprise) is "external"; a guest account (`is_restricted`,
`is_ultra_restricted`) is "guest". When users.info cannot be read, only the event's own fields decide."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from assistant.slack.api import SlackApi
from assistant.tickets.desk import Requester

GROUP_CACHE_SECONDS = 300.0
USER_CACHE_SECONDS = 600.0
EXTERNAL = "external"
GUEST = "guest"


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

    def refusal(
        self,
        api: SlackApi,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
        *,
        allow_guests: bool = False,
        allow_external: bool = False,
    ) -> str | None:
        """Why the person who sent `event` may not ask (EXTERNAL or GUEST), or None when they may."""
        if allow_guests and allow_external:
            return None
        home = installing_team(body)
        user = str(event.get("user") or "")
        info = self.user_info(api, user) if user else {}
        if not allow_external and is_external(event, info, home, str(body.get("enterprise_id") or "")):
            return EXTERNAL
        if not allow_guests and (info.get("is_restricted") or info.get("is_ultra_restricted")):
            return GUEST
        return None


def installing_team(body: Mapping[str, Any]) -> str:
    """The workspace the app is installed in: the event's authorization, else the envelope's team_id."""
    for auth in body.get("authorizations") or []:
        if isinstance(auth, Mapping) and auth.get("team_id"):
            return str(auth["team_id"])
    return str(body.get("team_id") or "")


def is_external(event: Mapping[str, Any], info: Mapping[str, Any], home: str, enterprise: str) -> bool:
    """True for a person of another organisation (pure): by the event's team fields, or by their users.info."""
    if info.get("is_stranger"):
        return True
    same_org = bool(enterprise) and (info.get("enterprise_user") or {}).get("enterprise_id") == enterprise
    if same_org:  # another workspace of the same Enterprise Grid org: a colleague
        return False
    team = str(event.get("user_team") or event.get("team") or "")
    if home and team and team != home:
        return True
    return bool(home and info.get("team_id") and info["team_id"] != home)
