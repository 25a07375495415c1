"""Tickets: what IT gets when the knowledge base falls short."""

from assistant.tickets.base import Ticket, TicketStore, new_ticket_id

__all__ = ["Ticket", "TicketStore", "new_ticket_id"]
