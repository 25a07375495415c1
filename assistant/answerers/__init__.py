"""Answerers write the reply from numbered sources."""

from assistant.answerers.base import Answerer

__all__ = ["Answerer"]
