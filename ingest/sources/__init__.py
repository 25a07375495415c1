"""Knowledge sources: where pages come from."""

from ingest.sources.base import KnowledgeSource, SourceReport

__all__ = ["KnowledgeSource", "SourceReport"]
