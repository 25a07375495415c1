"""Settings of the ticket store."""

from __future__ import annotations

from dataclasses import dataclass

from core import env as e


@dataclass(frozen=True)
class TicketsConfig:
    table: str = ""  # set: tickets in DynamoDB; empty: local SQLite
    notify_requester: bool = True
    gap_space: str = ""  # the Confluence space key for knowledge-base drafts made from resolved tickets
    gap_parent_id: str = ""  # the page those drafts go under (optional)

    @classmethod
    def from_env(cls, env: e.Env) -> TicketsConfig:
        return cls(
            table=e.text(env, "TICKETS_TABLE"),
            notify_requester=e.flag(env, "HELPDESK_NOTIFY_REQUESTER", True),
            gap_space=e.text(env, "HELPDESK_GAP_SPACE"),
            gap_parent_id=e.text(env, "HELPDESK_GAP_PARENT_ID"),
        )
