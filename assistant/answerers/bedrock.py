"""Claude on Amazon Bedrock through the Converse API: boto3 `bedrock-runtime.converse` (docs/decisions/0005).

Request building (`assistant.prompt`) and reply parsing (`assistant.answerers.parse`) are pure; this module makes
the one call between them, retries throttling with bounded backoff (`core.retry`), and turns AWS errors into
`AssistantError`s whose `operator_hint` names the model id and the IAM action. The endpoint comes from botocore's
own settings (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL`, the region): nothing here hard-codes one.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answerers.base import VerdictAnswerer
from assistant.answerers.parse import parse_answer, parse_rewrite, usage
from assistant.exceptions import (
    AnswererUnavailable,
    AssistantError,
    ModelAccessDenied,
    ModelNotAvailable,
    ModelThrottled,
)
from assistant.followup import local_rewrite
from assistant.model import Answer, Source, Turn
from assistant.prompt import answer_request, guardrail_config, rewrite_request
from core import metrics
from core.aws import LazyClient, error_code, error_message
from core.errors import ConfigError
from core.retry import THROTTLING, RetriesExhausted, RetryPolicy, call_with_retries

if TYPE_CHECKING:
    from assistant.config import AnswerConfig

log = logging.getLogger(__name__)

IAM_ACTION = "bedrock:InvokeModel"
BEDROCK_INPUT_TOKENS = "BedrockInputTokens"
_MODEL_PROBLEM = re.compile(r"(?i)model identifier|inference profile|on-demand throughput|end of its life|model id")
_NO_TOOLS = re.compile(r"(?i)tool")


class ConverseClient(Protocol):
    def converse(self, **kwargs: Any) -> Mapping[str, Any]: ...


class BedrockAnswerer(VerdictAnswerer):
    """Answers from numbered sources with Claude (or any Converse model with tool use) on Bedrock."""

    def __init__(
        self,
        model_id: str,
        *,
        max_tokens: int = 700,
        temperature: float = 0.1,
        guardrail_id: str = "",
        guardrail_version: str = "",
        client: ConverseClient | None = None,
        retry_budget_s: float = 20.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not model_id:
            raise ValueError("model_id is empty")
        self.model_id = model_id
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.guardrail = guardrail_config(guardrail_id, guardrail_version)
        # Retries are ours (bounded by retry_budget_s), so botocore makes exactly one attempt per call.
        # A hung call must end well inside the Slack Lambda (60 s): 20 s is several times a slow Haiku answer.
        self._runtime = LazyClient.single_attempt("bedrock-runtime", client, connect_timeout=5, read_timeout=20)
        self.retry = RetryPolicy(budget_s=retry_budget_s, base_s=backoff_base_s, cap_s=backoff_cap_s, jitter_floor=0.5)
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self.use_tool = True  # turned off for good when the model rejects tool use

    @classmethod
    def from_config(cls, config: AnswerConfig) -> BedrockAnswerer:
        if config.guardrail_id and not config.guardrail_version:
            raise ConfigError(
                "HELPDESK_GUARDRAIL_ID is set but HELPDESK_GUARDRAIL_VERSION is empty: set the guardrail version "
                "(a number such as 1, or DRAFT)"
            )
        if config.guardrail_version and not config.guardrail_id:
            raise ConfigError("HELPDESK_GUARDRAIL_VERSION is set but HELPDESK_GUARDRAIL_ID is empty")
        return cls(
            config.bedrock_chat_model,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            guardrail_id=config.guardrail_id,
            guardrail_version=config.guardrail_version,
        )

    @property
    def client(self) -> ConverseClient:
        return self._runtime.get()

    @property
    def region(self) -> str:
        meta = getattr(self.client, "meta", None) if self._runtime.created else None
        return str(getattr(meta, "region_name", "") or "")

    # --- the Answerer protocol -----------------------------------------------------------------------------------

    def answer(self, question: str, sources: Sequence[Source], history: Sequence[Turn] = ()) -> Answer:
        if not sources:  # nothing to answer from: no model call, the gate opens a ticket
            return Answer(text="", used_sources=[], sufficient=False)
        request = self._answer_request(question, sources, history)
        try:
            response = self._call(request)
        except _ToolsUnsupported:
            self.use_tool = False
            log.warning("model rejected tool use; asking for JSON in plain text", extra={"model_id": self.model_id})
            response = self._call(self._answer_request(question, sources, history))
        answer = parse_answer(response, sources)
        metrics.count(BEDROCK_INPUT_TOKENS, answer.input_tokens)  # the dashboard's token use per answer
        log.debug(
            "bedrock answer",
            extra={
                "model_id": self.model_id,
                "stop_reason": response.get("stopReason"),
                "input_tokens": answer.input_tokens,
                "output_tokens": answer.output_tokens,
                "sufficient": answer.sufficient,
                "used_sources": answer.used_sources,
            },
        )
        return answer

    def rewrite_query(self, question: str, history: Sequence[Turn]) -> str:
        """The model turns the follow-up into a standalone query; any failure falls back to the local rewrite."""
        fallback = local_rewrite(question, history)
        if not any(t.text.strip() for t in history):
            return question
        try:
            response = self._call(
                rewrite_request(self.model_id, question, history, guardrail=self.guardrail), retry=False
            )
        except AssistantError as exc:
            log.warning("follow-up rewrite failed; using the local rewrite", extra={"error": type(exc).__name__})
            return fallback
        query = parse_rewrite(response, fallback)
        log.debug("follow-up rewritten", extra={"query": query, "input_tokens": usage(response)[0]})
        return query

    # --- the one I/O call, with retries ----------------------------------------------------------------------------

    def _answer_request(self, question: str, sources: Sequence[Source], history: Sequence[Turn]) -> dict[str, Any]:
        return answer_request(
            self.model_id,
            question,
            sources,
            history,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            guardrail=self.guardrail,
            use_tool=self.use_tool,
        )

    def _call(self, request: Mapping[str, Any], *, retry: bool = True) -> Mapping[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        def converse() -> Mapping[str, Any]:
            response = self.client.converse(**request)
            if not isinstance(response, Mapping):
                raise AnswererUnavailable("the model returned no reply", model_id=self.model_id)
            return response

        def retrying(exc: BaseException, attempts: int, delay: float) -> None:
            log.warning(
                "bedrock busy, retrying",
                extra={"model_id": self.model_id, "attempt": attempts, "delay_s": round(delay, 2)},
            )

        try:
            return call_with_retries(
                converse,
                self.retry if retry else replace(self.retry, max_attempts=1),
                clock=self.clock,
                sleep=self.sleep,
                rand=self.jitter,
                on_failure=_count_throttle,
                on_retry=retrying,
            )
        except RetriesExhausted as exc:
            raise ModelThrottled(
                "the answering model is busy",
                model_id=self.model_id,
                operator_hint=(
                    f"Bedrock model {self.model_id!r} still throttled or unavailable after {exc.attempts} "
                    f"attempt(s) in {exc.elapsed:.1f}s ({type(exc.last).__name__}); raise the account's "
                    "Converse/InvokeModel quota for this model or use a cross-region inference profile"
                ),
            ) from exc.last
        except ClientError as exc:
            raise self._translate(error_code(exc), error_message(exc), bool(request.get("toolConfig"))) from exc
        except BotoCoreError as exc:  # no credentials, bad parameters: retrying will not help
            raise AnswererUnavailable(
                "the answering model could not be reached",
                model_id=self.model_id,
                operator_hint=f"calling Bedrock model {self.model_id!r} failed: {exc}",
            ) from exc

    def _translate(self, code: str, message: str, with_tools: bool) -> Exception:
        region = self.region or "the configured region"
        if code == "AccessDeniedException":
            return ModelAccessDenied(
                "the answering model is not available",
                model_id=self.model_id,
                operator_hint=(
                    f"Bedrock denied access to model {self.model_id!r} in {region}: allow the IAM action "
                    f"{IAM_ACTION} on that model (for an inference profile: on the profile ARN and on the "
                    "foundation model in every region it routes to) and enable access to the model in the "
                    f"Bedrock console (Model access) for {region}. AWS said: {message}"
                ),
            )
        if code == "ValidationException" and with_tools and _NO_TOOLS.search(message):
            return _ToolsUnsupported(message)
        if code == "ResourceNotFoundException" or (code == "ValidationException" and _MODEL_PROBLEM.search(message)):
            return ModelNotAvailable(
                "the answering model is not available",
                model_id=self.model_id,
                operator_hint=(
                    f"Bedrock cannot invoke model {self.model_id!r} in {region} ({code}): check "
                    "HELPDESK_BEDROCK_CHAT_MODEL. Newer Claude models need an inference-profile id such as "
                    f"'us.anthropic.claude-3-5-haiku-20241022-v1:0'; the IAM action is {IAM_ACTION}. "
                    f"AWS said: {message}"
                ),
            )
        return AnswererUnavailable(
            "the answering model failed",
            model_id=self.model_id,
            operator_hint=f"Bedrock Converse with model {self.model_id!r} failed: {code}: {message}",
        )


def _count_throttle(exc: BaseException) -> None:
    if error_code(exc) == THROTTLING:
        metrics.count(metrics.BEDROCK_THROTTLES)  # what the CDK app's throttling alarm reads


class _ToolsUnsupported(AssistantError):
    """Internal: the model refused toolConfig; the answerer retries once without it."""
