"""The one place that picks implementations from settings. Heavy modules are imported only when chosen."""

from __future__ import annotations

from assistant.answerers.base import Answerer
from assistant.confidence import ConfidenceGate
from assistant.mail.base import Mailer
from assistant.service import Assistant
from assistant.tickets.base import TicketStore
from helpdesk.settings import Settings, SettingsError
from index_store.base import IndexStore
from index_store.format import check_embedder
from ingest.embedders.base import Embedder
from ingest.sources.base import KnowledgeSource


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "local":
        from ingest.embedders.local import StaticEmbedder

        return StaticEmbedder()
    raise SettingsError(f"HELPDESK_EMBEDDER={settings.embedder!r} is not available in this build")


def build_index_store(settings: Settings, location: str | None = None) -> IndexStore:
    location = location or settings.index
    if location.startswith("s3://"):
        raise SettingsError(f"S3 index locations are not available in this build: {location}")
    from index_store.local import LocalIndexStore

    return LocalIndexStore(location)


def build_source(settings: Settings, spec: str) -> KnowledgeSource:
    kind, _, arg = spec.partition(":")
    if kind == "export" and arg:
        from ingest.sources.export import ExportSource

        return ExportSource(arg)
    raise SettingsError(f"unknown --source {spec!r}; expected export:PATH")


def build_answerer(settings: Settings) -> Answerer:
    if settings.answerer == "extractive":
        from assistant.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()
    raise SettingsError(f"HELPDESK_ANSWERER={settings.answerer!r} is not available in this build")


def build_ticket_store(settings: Settings) -> TicketStore:
    from assistant.tickets.sqlite import SqliteTicketStore

    return SqliteTicketStore(settings.tickets_db)


def build_mailer(settings: Settings) -> Mailer:
    from assistant.mail.outbox import OutboxMailer

    return OutboxMailer(settings.outbox)


def build_assistant(
    settings: Settings, location: str | None = None, *, with_tickets: bool = True, embedder: Embedder | None = None
) -> Assistant:
    """Load the published index and wire retrieval, answerer, gate, tickets and mail."""
    from assistant.retrieval import HybridRetriever

    store = build_index_store(settings, location)
    bundle = store.load()
    embedder = embedder or build_embedder(settings)
    check_embedder(
        {"embedder": {"id": bundle.embedder_id, "dimension": bundle.dimension}},
        embedder.embedder_id,
        embedder.dimension,
        store.location,
    )
    return Assistant(
        HybridRetriever(bundle, embedder, candidates=settings.retrieval_candidates),
        build_answerer(settings),
        ConfidenceGate(threshold=settings.confidence_threshold),
        build_ticket_store(settings) if with_tickets else None,
        build_mailer(settings) if with_tickets else None,
        max_question_chars=settings.max_question_chars,
        it_queue_email=settings.it_queue_email,
        sender_email=settings.sender_email,
    )
