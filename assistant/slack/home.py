"""A person's open tickets, and the App Home that lists them."""

from __future__ import annotations

from assistant.slack import blocks as bk
from assistant.slack.api import SlackApi
from assistant.tickets.base import OPEN_STATUSES, Ticket, TicketStore


def open_tickets(store: TicketStore, user: str) -> list[Ticket]:
    return [t for t in store.list(requester=user) if t.status in OPEN_STATUSES]


def publish_home(api: SlackApi, store: TicketStore, user: str) -> bool:
    """Publish `user`'s App Home with their open tickets; False when Slack refused it."""
    return api.publish_home(user, bk.home_view(open_tickets(store, user)))
