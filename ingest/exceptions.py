"""Errors raised by the ingest pipeline."""

from core.errors import HelpdeskError


class IngestError(HelpdeskError):
    """Base of all ingest errors."""


class SourceError(IngestError):
    """The knowledge source cannot be read (missing export folder, unreachable Confluence, ...)."""


class InvalidSource(SourceError):
    """The source as given cannot be read: a missing or empty export folder, a malformed source spec (exit 2)."""

    exit_code = 2


class UnreadableSource(InvalidSource):
    """Some files of the source could not be read or parsed; without `--allow-partial` nothing is published, since
    the pages in them would otherwise count as deleted (exit 2)."""


class EmptySource(SourceError):
    """The source listed no page in scope; publishing would wipe the index, so nothing is published (exit 2)."""

    exit_code = 2


class EmbeddingError(IngestError):
    """The embedder failed in a way a retry will not fix."""


class ConfluenceUnavailable(SourceError):
    """Confluence stayed unreachable (timeouts, 5xx, 429) for the whole retry budget; nothing was published."""


class EmbeddingAccessDenied(EmbeddingError):
    """The embedding model refused the caller (IAM or model access); retrying cannot help."""
