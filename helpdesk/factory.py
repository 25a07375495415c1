"""The one place that picks implementations from settings. Heavy modules are imported only when chosen.

Each builder hands a package its own config; no feature reads the app's `Settings`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from assistant.answerers.base import Answerer
from assistant.confidence import ConfidenceGate, IndexGate, gate_for
from assistant.drafts import DraftPublisher
from assistant.interactions.base import InteractionStore
from assistant.interactions.log import InteractionLog
from assistant.mail.base import Mailer
from assistant.service import Assistant
from assistant.tickets.base import OutboxStore
from assistant.tickets.desk import TicketDesk
from helpdesk.settings import Settings, SettingsError
from index_store.base import IndexStore
from ingest.embedders.base import Embedder
from ingest.sources.base import KnowledgeSource

if TYPE_CHECKING:  # typing only: retrieval brings numpy, kept off the Slack ack path
    from assistant.retrieval import Retriever
    from index_store.format import IndexBundle


def build_embedder(settings: Settings, *, for_queries: bool = False) -> Embedder:
    """`for_queries`: the answering path, where a user is waiting, so Bedrock retries are bounded to seconds."""
    if settings.embedder.kind == "local":
        from ingest.embedders.local import StaticEmbedder

        return StaticEmbedder()
    if settings.embedder.kind == "onnx-minilm":
        from ingest.embedders import local, onnx

        if not settings.embedder.chosen and not onnx.runtime_available() and local.runtime_available():
            logging.getLogger(__name__).warning(
                "the default embedder needs the 'onnx' extra (onnxruntime, tokenizers), which is not installed; "
                "using the static local model (HELPDESK_EMBEDDER=local). Install it with `uv sync --extra onnx` "
                "(an index built with the static model is then rebuilt by the next ingest)"
            )
            return local.StaticEmbedder()
        return onnx.OnnxEmbedder()
    from ingest.embedders.bedrock import TitanEmbedder

    if for_queries:  # 4 attempts, at most ~3.5 s of backoff: then the user gets the polite reply and a ticket
        return TitanEmbedder(
            settings.embedder.bedrock_model,
            settings.embedder.dimensions,
            concurrency=1,
            max_attempts=4,
            max_delay=2.0,
            emit_metrics=True,
        )
    return TitanEmbedder.from_config(settings.embedder)


def build_index_store(settings: Settings, location: str | None = None) -> IndexStore:
    location = location or settings.index_location
    if location.startswith("s3://"):
        from index_store.s3 import S3IndexStore

        return S3IndexStore.from_config(location, settings.index)
    from index_store.local import LocalIndexStore

    return LocalIndexStore(location, keep=settings.index.keep_versions)


def build_source(settings: Settings, spec: str) -> KnowledgeSource:
    kind, _, arg = spec.partition(":")
    if kind == "export" and arg:
        from ingest.sources.export import ExportSource

        return ExportSource(arg)
    if kind == "confluence":  # "confluence:" uses the CONFLUENCE_* settings; "confluence:SPACE,SPACE" overrides
        from ingest.sources.confluence import ConfluenceSource

        spaces = tuple(x for x in arg.split(",") if x)
        return ConfluenceSource.from_config(settings.confluence, settings.ingest, spaces=spaces)
    raise SettingsError(f"unknown --source {spec!r}; expected export:PATH or confluence:[SPACE,...]")


def build_answerer(settings: Settings) -> Answerer:
    if settings.answering.answerer == "extractive":
        from assistant.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()
    from assistant.answerers.bedrock import BedrockAnswerer

    return BedrockAnswerer.from_config(settings.answering)


def build_ticket_store(settings: Settings) -> OutboxStore:
    if settings.tickets.table:
        from assistant.tickets.dynamodb import DynamoTicketStore

        return DynamoTicketStore.from_config(settings.tickets)
    from assistant.tickets.sqlite import SqliteTicketStore

    return SqliteTicketStore(settings.tickets_db)


def build_mailer(settings: Settings) -> Mailer:
    if settings.mail.backend == "ses":
        from assistant.mail.ses import SesMailer

        return SesMailer.from_config(settings.mail)
    from assistant.mail.outbox import OutboxMailer

    return OutboxMailer(settings.outbox)


def build_ticket_desk(settings: Settings, *, notify_requester: bool | None = None) -> TicketDesk:
    """Tickets and their email, without the index. `notify_requester` None: HELPDESK_NOTIFY_REQUESTER."""
    return TicketDesk(
        build_ticket_store(settings),
        build_mailer(settings),
        it_queue_email=settings.mail.it_queue_email,
        sender_email=settings.mail.sender_email,
        notify_requester=settings.tickets.notify_requester if notify_requester is None else notify_requester,
        drafts=build_drafts(settings),
        drafts_missing=drafts_missing(settings),
    )


def drafts_missing(settings: Settings) -> str:
    """The setting knowledge-base drafts still need ("" when none is missing)."""
    from assistant.drafts import missing_setting

    c = settings.confluence
    return missing_setting(c.url, c.token or c.secret_arn, settings.tickets.gap_space)


def build_drafts(settings: Settings) -> DraftPublisher | None:
    """Drafts in HELPDESK_GAP_SPACE with the CONFLUENCE_* credentials; None while a setting is missing."""
    if drafts_missing(settings):
        return None
    from assistant.drafts import ConfluenceDrafts

    c = settings.confluence
    credentials = None
    if not c.token:  # on Lambda: CONFLUENCE_SECRET_ARN, read on the first draft only
        from ingest.job import confluence_credentials

        arn = c.secret_arn
        credentials = lambda: confluence_credentials(arn)  # noqa: E731
    return ConfluenceDrafts(
        c.url,
        settings.tickets.gap_space,
        user=c.user,
        token=c.token,
        parent_id=settings.tickets.gap_parent_id,
        timeout=c.timeout_seconds,
        credentials=credentials,
    )


def build_retriever(
    settings: Settings, location: str | None = None, *, embedder: Embedder | None = None
) -> tuple[Retriever, str]:
    """The retriever and the id the confidence gate picks its weights by (the embedder's, or the knowledge base's:
    never the fitted local weights, so the embedder-independent fallback applies unless weights are configured)."""
    if settings.answering.retriever == "bedrock-kb":
        from assistant.kb_retriever import KnowledgeBaseRetriever

        kb = settings.answering.knowledge_base_id
        return KnowledgeBaseRetriever.from_config(settings.answering), f"bedrock-kb/{kb}"
    from assistant.retrieval import RefreshingRetriever

    store = build_index_store(settings, location)
    bundle = store.load()  # fails fast and clearly when there is no index
    retriever_embedder = embedder or build_embedder(settings, for_queries=True)
    retriever = RefreshingRetriever(
        store,
        retriever_embedder,
        candidates=settings.answering.retrieval_candidates,
        refresh_seconds=settings.index.refresh_seconds,
        bundle=bundle,
    )
    return retriever, retriever_embedder.embedder_id


def build_assistant(
    settings: Settings, location: str | None = None, *, with_tickets: bool = True, embedder: Embedder | None = None
) -> Assistant:
    """Load the published index (or, with HELPDESK_RETRIEVER=bedrock-kb, reach the knowledge base instead) and wire
    retrieval, answerer, gate, tickets and mail."""
    retriever, gate_embedder_id = build_retriever(settings, location, embedder=embedder)

    def choose(calibration: Mapping[str, Any] | None) -> ConfidenceGate:
        return gate_for(
            gate_embedder_id,
            threshold=settings.answering.confidence_threshold,
            weights_json=settings.answering.confidence_weights,
            calibration=calibration,
        )

    gate = _index_gate(retriever, choose)
    if settings.answering.rerank_model_arn:  # optional Bedrock rerank of the fused pages
        from assistant.rerank import BedrockReranker, RerankingRetriever

        retriever = RerankingRetriever(retriever, BedrockReranker.from_config(settings.answering))
    return Assistant(
        retriever,
        build_answerer(settings),
        gate,
        build_ticket_desk(settings) if with_tickets else None,
        max_question_chars=settings.answering.max_question_chars,
        source_token_budget=settings.answering.source_token_budget,
    )


def served_bundle(retriever: Retriever) -> IndexBundle | None:
    """The index a retriever built by `build_assistant` serves (through a reranker too); None for a knowledge base."""
    from assistant.rerank import RerankingRetriever
    from assistant.retrieval import RefreshingRetriever

    base = retriever.base if isinstance(retriever, RerankingRetriever) else retriever
    return base.bundle if isinstance(base, RefreshingRetriever) else None


def _index_gate(retriever: Retriever, choose: Callable[[Mapping[str, Any] | None], ConfidenceGate]) -> ConfidenceGate:
    """The gate of the index the retriever serves, following its versions (a Bedrock Knowledge Base has no
    calibration: one gate). Chosen once here, so a bad HELPDESK_CONFIDENCE_WEIGHTS fails at start-up."""
    from assistant.retrieval import RefreshingRetriever

    if not isinstance(retriever, RefreshingRetriever):
        return choose(None)
    gate = IndexGate(choose, lambda: (retriever.bundle.version, retriever.bundle.calibration))
    _ = gate.threshold
    return gate


def build_interaction_store(settings: Settings) -> InteractionStore:
    if settings.interactions.table:
        from assistant.interactions.dynamodb import DynamoInteractionStore

        return DynamoInteractionStore(settings.interactions.table)
    from assistant.interactions.sqlite import SqliteInteractionStore

    return SqliteInteractionStore(settings.interactions_db)


def build_interaction_log(settings: Settings) -> InteractionLog:
    """Where every question (CLI `ask`, Slack) and every vote is recorded; `eval` never builds one."""
    return InteractionLog(build_interaction_store(settings), retention_days=settings.interactions.retention_days)
