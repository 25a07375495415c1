"""Embedders turn text into L2-normalised float32 vectors."""

from ingest.embedders.base import Embedder

__all__ = ["Embedder"]
