"""Errors raised by the Slack app."""

from assistant.exceptions import AssistantError


class SlackError(AssistantError):
    """Base of the Slack app's errors."""


class SlackConfigError(SlackError):
    """The Slack credentials or settings are missing or unusable (never carries a secret value)."""

    exit_code = 2


class SlackStoreError(SlackError):
    """The dedupe/feedback store failed."""
