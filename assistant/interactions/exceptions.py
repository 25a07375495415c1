"""Errors of the interaction log."""

from assistant.exceptions import AssistantError


class InteractionStoreError(AssistantError):
    """The interaction store failed (SQLite or DynamoDB)."""
