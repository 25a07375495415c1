"""Amazon Titan Text Embeddings v2 on Bedrock, through boto3 `invoke_model` (see docs/decisions/0003).

Titan v2 embeds one text per call (no batch API), so `embed_documents` runs a bounded pool of concurrent calls.
Requests ask for normalised vectors of the configured dimension (256, 512 or 1024).

Errors: throttling, service unavailable, model timeouts, 5xx and connection errors are retried with exponential
backoff and jitter (`core.retry`, injected `sleep`; botocore's own retries are off so the calls counted are the calls
made). AccessDenied and
"model not enabled" stop the run with a message naming the model id and the IAM action. Endpoints come only from
botocore's standard settings (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL`), never from code.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core import metrics
from core.aws import LazyClient, error_code, error_message, http_status
from core.retry import THROTTLING, RetriesExhausted, RetryPolicy, call_with_retries
from ingest.embedders.base import normalise
from ingest.exceptions import EmbeddingAccessDenied, EmbeddingError

if TYPE_CHECKING:
    from ingest.config import EmbedderConfig

DEFAULT_MODEL = "amazon.titan-embed-text-v2:0"
DIMENSIONS = (256, 512, 1024)
MAX_INPUT_CHARS = 50_000  # Titan v2 accepts up to 8,192 tokens / 50,000 characters


def build_request(text: str, dimensions: int) -> bytes:
    """The invoke_model body (pure)."""
    return json.dumps(
        {"inputText": text[:MAX_INPUT_CHARS], "dimensions": dimensions, "normalize": True}, ensure_ascii=False
    ).encode("utf-8")


def parse_response(body: bytes, dimensions: int) -> tuple[np.ndarray, int]:
    """(vector, input token count) from an invoke_model response body (pure)."""
    try:
        doc = json.loads(body)
        vector = np.asarray(doc["embedding"], dtype=np.float32)
        tokens = int(doc.get("inputTextTokenCount") or 0)
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError(f"Titan returned an unreadable response: {exc.__class__.__name__}: {exc}") from exc
    if vector.shape != (dimensions,):
        raise EmbeddingError(f"Titan returned a vector of shape {vector.shape}; expected ({dimensions},)")
    return vector, tokens


def fatal_message(code: str, message: str, model_id: str, region: str) -> str:
    """The one-line explanation for an error no retry can fix (pure)."""
    where = f" in {region}" if region else ""
    if code == "AccessDeniedException":
        if "access to the model" in message.lower() or "not enabled" in message.lower():
            return (
                f"Bedrock model {model_id} is not enabled for this account{where}: request access in the Bedrock "
                f"console (Model access), and allow bedrock:InvokeModel on it. Bedrock said: {message}"
            )
        return (
            f"access denied calling Bedrock model {model_id}{where}: the role needs the IAM action "
            f"bedrock:InvokeModel on arn:aws:bedrock:*::foundation-model/{model_id}. Bedrock said: {message}"
        )
    if code == "ResourceNotFoundException":
        return f"Bedrock has no model {model_id}{where}: check HELPDESK_BEDROCK_EMBED_MODEL. Bedrock said: {message}"
    if code == "ValidationException":
        return f"Bedrock rejected the embedding request for {model_id}: {message}"
    if code in ("UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"):
        return f"AWS credentials were rejected calling Bedrock ({code}): {message}"
    return f"Bedrock call to {model_id} failed with {code}: {message}"


@dataclass(frozen=True)
class EmbedStatsSnapshot:
    calls: int
    input_tokens: int
    retries: int
    throttles: int = 0


class EmbedStats:
    """Successful calls, input tokens, retried calls and ThrottlingExceptions received; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.input_tokens = 0
        self.retries = 0
        self.throttles = 0

    def add(self, *, calls: int = 0, tokens: int = 0, retries: int = 0, throttles: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.input_tokens += tokens
            self.retries += retries
            self.throttles += throttles

    def snapshot(self) -> EmbedStatsSnapshot:
        with self._lock:
            return EmbedStatsSnapshot(self.calls, self.input_tokens, self.retries, self.throttles)


class TitanEmbedder:
    """`Embedder` over Titan Text Embeddings v2. `batch_size` is what the pipeline hands over at a time."""

    batch_size = 512

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        dimensions: int = 256,
        *,
        concurrency: int = 8,
        client: Any | None = None,
        max_attempts: int = 8,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        emit_metrics: bool = False,
    ) -> None:
        if dimensions not in DIMENSIONS:
            raise EmbeddingError(f"Titan v2 dimensions must be one of {DIMENSIONS}, not {dimensions}")
        self.model_id = model_id
        self.dimension = dimensions
        self.embedder_id = f"bedrock/{model_id}"
        self.concurrency = max(1, concurrency)
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.emit_metrics = emit_metrics  # the ingest job emits its own totals; the answering path sets this
        self.stats = EmbedStats()
        self._runtime = LazyClient.for_service(
            "bedrock-runtime",
            client,
            options={
                "retries": {"total_max_attempts": 1},  # our retries: counted, with backoff and jitter
                "max_pool_connections": max(10, self.concurrency + 2),
                "connect_timeout": 10,
                "read_timeout": 60,
            },
        )

    @classmethod
    def from_config(cls, config: EmbedderConfig) -> TitanEmbedder:
        return cls(config.bedrock_model, config.dimensions, concurrency=config.concurrency)

    @property
    def client(self) -> Any:
        return self._runtime.get()

    @property
    def retry(self) -> RetryPolicy:
        """At most `max_attempts` calls per text; waits of half to all of min(max_delay, base_delay * 2**n)."""
        return RetryPolicy(
            max_attempts=self.max_attempts, base_s=self.base_delay, cap_s=self.max_delay, jitter_floor=0.5
        )

    def _region(self) -> str:
        try:
            return str(self.client.meta.region_name or "")
        except Exception:  # only used in a message
            return ""

    def _embed_one(self, text: str) -> np.ndarray:
        from botocore.exceptions import BotoCoreError, ClientError

        body = build_request(text, self.dimension)

        def invoke() -> tuple[np.ndarray, int]:
            response = self.client.invoke_model(
                modelId=self.model_id, body=body, contentType="application/json", accept="application/json"
            )
            return parse_response(response["body"].read(), self.dimension)

        try:
            vector, tokens = call_with_retries(
                invoke,
                self.retry,
                clock=self.clock,
                sleep=self.sleep,
                rand=self.rng,
                on_failure=self._count_throttle,
                on_retry=lambda exc, attempts, delay: self.stats.add(retries=1),
            )
        except RetriesExhausted as exc:
            if isinstance(exc.last, ClientError):
                raise EmbeddingError(
                    f"Bedrock kept answering {error_code(exc.last) or http_status(exc.last)} for {self.model_id} "
                    f"after {exc.attempts} attempts; lower HELPDESK_EMBED_CONCURRENCY or raise the account's "
                    "Titan quota"
                ) from exc.last
            raise EmbeddingError(f"cannot reach Bedrock for {self.model_id}: {exc.last}") from exc.last
        except ClientError as exc:
            code = error_code(exc)
            kind = EmbeddingAccessDenied if code == "AccessDeniedException" else EmbeddingError
            raise kind(fatal_message(code, error_message(exc), self.model_id, self._region())) from exc
        except BotoCoreError as exc:  # no credentials, bad parameters: no retry helps
            raise EmbeddingError(f"cannot reach Bedrock for {self.model_id}: {exc}") from exc
        self.stats.add(calls=1, tokens=tokens)
        return vector

    def _count_throttle(self, exc: BaseException) -> None:
        if error_code(exc) == THROTTLING:
            self.stats.add(throttles=1)
            if self.emit_metrics:  # answering path: count it now
                metrics.count(metrics.BEDROCK_THROTTLES)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1 or self.concurrency == 1:
            return normalise(np.stack([self._embed_one(t) for t in texts]))
        out: list[np.ndarray | None] = [None] * len(texts)
        stop = threading.Event()  # set by the first failure: calls not yet started are not made

        def task(text: str) -> np.ndarray | None:
            if stop.is_set():
                return None
            try:
                return self._embed_one(text)
            except BaseException:
                stop.set()
                raise

        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(texts)), thread_name_prefix="titan")
        try:
            futures = {pool.submit(task, t): i for i, t in enumerate(texts)}
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for fut in done:
                error = fut.exception()
                if error is not None:
                    raise error
            for fut, i in futures.items():
                out[i] = fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return normalise(np.stack(out))  # type: ignore[arg-type]

    def embed_query(self, text: str) -> np.ndarray:
        return normalise(self._embed_one(text)[None, :])[0]
