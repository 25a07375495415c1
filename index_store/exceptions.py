"""Errors raised while reading or writing an index."""

from core.errors import HelpdeskError


class IndexStoreError(HelpdeskError):
    """Base of all index errors."""


class IndexNotFound(IndexStoreError):
    """No published index at the location."""


class IndexCorrupt(IndexStoreError):
    """A file is missing, truncated, fails its checksum or cannot be decoded."""


class EmbedderMismatch(IndexStoreError):
    """The index was built by another embedder than the one configured."""


class PublishConflict(IndexStoreError):
    """Another ingest moved the pointer while this one was publishing; this run's version was not made current."""
