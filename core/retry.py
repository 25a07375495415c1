"""One retry policy for calls to AWS services: which failures are worth another attempt, exponential backoff with
jitter, an attempt cap and a time budget.

Pure: the clock, the sleep and the random source are parameters, so tests drive it with a fake clock and never
wait. Callers translate `RetriesExhausted` (and the failures not worth retrying, which pass through unchanged) into
their own package's errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from core.aws import error_code, http_status

T = TypeVar("T")

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceQuotaExceededException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "InternalServerException",
    }
)
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
THROTTLING = "ThrottlingException"  # the code the throttling alarm and the embedder's stats count


def is_transient(exc: BaseException) -> bool:
    """True for a failure another attempt may cure: a service error with a retryable code or HTTP status, a
    connection error or a timeout. Bad requests, access denied and missing credentials are not."""
    if isinstance(getattr(exc, "response", None), dict):
        return error_code(exc) in RETRYABLE_CODES or http_status(exc) in RETRYABLE_STATUS
    try:
        from botocore.exceptions import ConnectionError as TransportError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - botocore is there whenever a client is
        return False
    return isinstance(exc, TransportError | HTTPClientError)


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` calls at most (None: no cap) and no wait that would end past `budget_s` seconds after the
    first call began (None: no budget). The wait before retry n is drawn from [floor, 1] of
    min(cap_s, base_s * 2**(n-1)), `jitter_floor` being that floor: 0 is full jitter, 0.5 waits at least half."""

    max_attempts: int | None = None
    budget_s: float | None = None
    base_s: float = 0.5
    cap_s: float = 8.0
    jitter_floor: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.max_attempts is None and self.budget_s is None:
            raise ValueError("a retry policy needs max_attempts or budget_s")
        if not 0.0 <= self.jitter_floor <= 1.0:
            raise ValueError(f"jitter_floor must be within [0, 1], not {self.jitter_floor}")

    def delay(self, retry: int, rand: Callable[[], float]) -> float:
        """The wait before retry number `retry` (1 for the first); `rand` returns a float in [0, 1)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (retry - 1))
        return ceiling * (self.jitter_floor + (1.0 - self.jitter_floor) * rand())

    def next_delay(self, attempts: int, elapsed: float, rand: Callable[[], float]) -> float | None:
        """The wait before the next call after `attempts` failed ones, `elapsed` seconds since the first began;
        None: give up."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return None
        wait = self.delay(attempts, rand)
        budget = math.inf if self.budget_s is None else self.budget_s
        return None if elapsed + wait > budget else wait


class RetriesExhausted(Exception):
    """The policy gave up on a transient failure: `attempts` calls in `elapsed` seconds, `last` the final one."""

    def __init__(self, attempts: int, elapsed: float, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempt(s) in {elapsed:.1f}s: {type(last).__name__}: {last}")
        self.attempts = attempts
        self.elapsed = elapsed
        self.last = last


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    retryable: Callable[[BaseException], bool] = is_transient,
    on_failure: Callable[[BaseException], None] | None = None,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> T:
    """`call()` until it returns, retrying what `retryable` accepts as `policy` allows.

    A failure not worth retrying propagates unchanged; when the policy gives up, `RetriesExhausted` is raised from
    the last failure. `on_failure(exc)` sees every retryable failure (the last included), `on_retry(exc, attempts,
    delay)` each one that is retried, just before the wait."""
    started = clock()
    attempts = 0
    while True:
        attempts += 1
        try:
            return call()
        except Exception as exc:
            if not retryable(exc):
                raise
            if on_failure is not None:
                on_failure(exc)
            elapsed = clock() - started
            wait = policy.next_delay(attempts, elapsed, rand)
            if wait is None:
                raise RetriesExhausted(attempts, elapsed, exc) from exc
            if on_retry is not None:
                on_retry(exc, attempts, wait)
            sleep(wait)
