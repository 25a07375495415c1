"""Ingestion: Confluence pages -> structured text -> chunks -> embeddings -> index."""
