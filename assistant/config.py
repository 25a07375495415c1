"""Settings of the answering path: retrieval, the confidence gate and the answerer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core import env as e
from core.errors import ConfigError

DEFAULT_CHAT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
RETRIEVERS = ("hybrid", "bedrock-kb")  # the published index (BM25 + dense), or an Amazon Bedrock Knowledge Base


@dataclass(frozen=True)
class AnswerConfig:
    answerer: str = "extractive"  # extractive | bedrock
    confidence_threshold: float | None = None  # None: the default of the weights the gate uses
    confidence_weights: str = ""  # JSON weights fitted for the configured embedder (bench.calibrate_confidence)
    self_calibration: bool = False  # refit the gate on pseudo-questions at every ingest (docs/decisions/0014)
    max_question_chars: int = 4000
    retrieval_candidates: int = 50
    bedrock_chat_model: str = DEFAULT_CHAT_MODEL
    max_tokens: int = 700
    temperature: float = 0.1
    source_token_budget: int = 3000
    guardrail_id: str = ""
    guardrail_version: str = ""
    rerank_model_arn: str = ""  # empty: no rerank
    retriever: str = "hybrid"  # one of RETRIEVERS
    knowledge_base_id: str = ""  # the Bedrock Knowledge Base that `bedrock-kb` retrieves from

    @classmethod
    def from_env(cls, env: e.Env) -> AnswerConfig:
        retriever = e.choice(env, "HELPDESK_RETRIEVER", "hybrid", RETRIEVERS)
        knowledge_base_id = e.text(env, "HELPDESK_KNOWLEDGE_BASE_ID")
        if retriever == "bedrock-kb" and not knowledge_base_id:
            raise ConfigError("HELPDESK_RETRIEVER=bedrock-kb needs HELPDESK_KNOWLEDGE_BASE_ID (the knowledge base id)")
        if knowledge_base_id and not re.fullmatch(r"[0-9A-Za-z]{10}", knowledge_base_id):
            raise ConfigError(
                f"HELPDESK_KNOWLEDGE_BASE_ID={knowledge_base_id!r} is not a knowledge base id (10 letters or digits)"
            )
        return cls(
            answerer=e.choice(env, "HELPDESK_ANSWERER", "extractive", ("extractive", "bedrock")),
            confidence_threshold=e.optional_number(env, "HELPDESK_CONFIDENCE_THRESHOLD", 0.0, 1.0),
            confidence_weights=e.text(env, "HELPDESK_CONFIDENCE_WEIGHTS"),
            self_calibration=e.flag(env, "HELPDESK_SELF_CALIBRATION", False),
            max_question_chars=e.whole(env, "HELPDESK_MAX_QUESTION_CHARS", 4000, 10, 100_000),
            retrieval_candidates=e.whole(env, "HELPDESK_RETRIEVAL_CANDIDATES", 50, 10, 2000),
            bedrock_chat_model=e.text(
                env, "HELPDESK_BEDROCK_CHAT_MODEL", "us.anthropic.claude-3-5-haiku-20241022-v1:0"
            ),
            max_tokens=e.whole(env, "HELPDESK_ANSWER_MAX_TOKENS", 700, 50, 4096),
            temperature=e.number(env, "HELPDESK_ANSWER_TEMPERATURE", 0.1, 0.0, 1.0),
            source_token_budget=e.whole(env, "HELPDESK_SOURCE_TOKEN_BUDGET", 3000, 200, 50_000),
            guardrail_id=e.text(env, "HELPDESK_GUARDRAIL_ID"),
            guardrail_version=e.text(env, "HELPDESK_GUARDRAIL_VERSION"),
            rerank_model_arn=e.text(env, "HELPDESK_RERANK_MODEL_ARN"),
            retriever=retriever,
            knowledge_base_id=knowledge_base_id,
        )
