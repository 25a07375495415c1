"""The one retry policy for AWS calls (core.retry) and the AWS error helpers (core.aws), without I/O."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from fakes.clock import FakeClock

from core.aws import LazyClient, error_code, error_message, http_status
from core.retry import RetriesExhausted, RetryPolicy, call_with_retries, is_transient


def client_error(code: str, status: int = 400, message: str = "no") -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Converse")


class Flaky:
    """Raises the given failures in turn, then returns "ok"; counts the calls."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def run(call: Flaky, policy: RetryPolicy, clock: FakeClock, rand: float = 1.0, **hooks: Any) -> str:
    return call_with_retries(call, policy, clock=clock, sleep=clock.sleep, rand=lambda: rand, **hooks)


def test_aws_error_helpers_read_code_message_and_status() -> None:
    exc = client_error("ThrottlingException", 429, "slow down")
    assert (error_code(exc), error_message(exc), http_status(exc)) == ("ThrottlingException", "slow down", 429)
    plain = ValueError("x")
    assert (error_code(plain), error_message(plain), http_status(plain)) == ("", "", 0)
    assert http_status(ClientError({"Error": {"Code": "X"}}, "Op")) == 0  # type: ignore[arg-type]


def test_lazy_client_is_made_once_on_first_use_or_is_the_one_given() -> None:
    made: list[object] = []

    def factory() -> object:
        made.append(object())
        return made[-1]

    lazy = LazyClient(factory)
    assert not lazy.created and made == []
    threads = [threading.Thread(target=lazy.get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lazy.created and len(made) == 1 and lazy.get() is made[0]
    given = object()
    assert LazyClient.for_service("s3", given, options={"connect_timeout": 1}).get() is given


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (client_error("ThrottlingException", 429), True),
        (client_error("TooManyRequestsException", 429), True),
        (client_error("ServiceUnavailableException", 503), True),
        (client_error("ModelNotReadyException", 429), True),
        (client_error("ModelTimeoutException", 408), True),
        (client_error("InternalServerException", 500), True),
        (client_error("ServiceQuotaExceededException", 400), True),
        (client_error("SomethingNew", 502), True),  # a 5xx is worth another attempt whatever its code
        (client_error("AccessDeniedException", 403), False),
        (client_error("ValidationException", 400), False),
        (client_error("ResourceNotFoundException", 404), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), True),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), True),
        (NoCredentialsError(), False),
        (ValueError("not an AWS error"), False),
    ],
)
def test_which_failures_are_retried(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_backoff_doubles_up_to_the_cap_with_full_or_floored_jitter() -> None:
    full = RetryPolicy(max_attempts=10, base_s=0.5, cap_s=4.0)
    assert [full.delay(n, lambda: 1.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [full.delay(n, lambda: 0.0) for n in range(1, 4)] == [0.0, 0.0, 0.0]
    assert full.delay(3, lambda: 0.25) == 0.5
    half = RetryPolicy(max_attempts=10, base_s=0.5, cap_s=4.0, jitter_floor=0.5)
    assert [half.delay(n, lambda: 0.0) for n in range(1, 5)] == [0.25, 0.5, 1.0, 2.0]
    assert [half.delay(n, lambda: 1.0) for n in range(1, 5)] == [0.5, 1.0, 2.0, 4.0]


def test_a_policy_needs_a_bound_and_sane_figures() -> None:
    with pytest.raises(ValueError, match="max_attempts or budget_s"):
        RetryPolicy()
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter_floor"):
        RetryPolicy(max_attempts=3, jitter_floor=1.5)


def test_transient_failures_are_retried_until_the_call_succeeds() -> None:
    clock = FakeClock()
    call = Flaky(client_error("ThrottlingException", 429), client_error("ServiceUnavailableException", 503))
    assert run(call, RetryPolicy(max_attempts=8, base_s=0.5, cap_s=20.0), clock) == "ok"
    assert call.calls == 3 and clock.sleeps == [0.5, 1.0]


def test_the_attempt_cap_stops_with_the_last_failure_as_cause() -> None:
    clock = FakeClock()
    last = client_error("ThrottlingException", 429)
    call = Flaky(client_error("ThrottlingException", 429), client_error("ThrottlingException", 429), last)
    with pytest.raises(RetriesExhausted) as info:
        run(call, RetryPolicy(max_attempts=3), clock)
    assert (info.value.attempts, info.value.last, info.value.__cause__) == (3, last, last)
    assert call.calls == 3 and len(clock.sleeps) == 2


def test_the_time_budget_stops_before_a_wait_that_would_overrun_it() -> None:
    clock = FakeClock()
    call = Flaky(*[client_error("ThrottlingException", 429)] * 100)
    with pytest.raises(RetriesExhausted) as info:
        run(call, RetryPolicy(budget_s=20.0, base_s=0.5, cap_s=8.0), clock)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]  # 15.5 s; one more 8 s wait would end at 23.5 s
    assert info.value.attempts == 6 and info.value.elapsed == 15.5


def test_slow_calls_count_against_the_budget() -> None:
    clock = FakeClock()

    def slow() -> str:
        clock.advance(20.0)  # a call that hung until its 20 s read timeout
        raise ReadTimeoutError(endpoint_url="http://bedrock")

    with pytest.raises(RetriesExhausted) as info:
        call_with_retries(slow, RetryPolicy(budget_s=20.0), clock=clock, sleep=clock.sleep, rand=lambda: 1.0)
    assert info.value.attempts == 1 and clock.sleeps == []


def test_a_failure_not_worth_retrying_passes_through_at_once() -> None:
    clock = FakeClock()
    denied = client_error("AccessDeniedException", 403)
    call = Flaky(denied)
    with pytest.raises(ClientError) as info:
        run(call, RetryPolicy(max_attempts=8), clock)
    assert info.value is denied and call.calls == 1 and clock.sleeps == []


def test_hooks_see_every_retryable_failure_and_every_retry() -> None:
    clock = FakeClock()
    failures: list[str] = []
    retries: list[tuple[str, int, float]] = []
    call = Flaky(*[client_error("ThrottlingException", 429)] * 3)
    with pytest.raises(RetriesExhausted):
        run(
            call,
            RetryPolicy(max_attempts=3, base_s=1.0),
            clock,
            rand=0.5,
            on_failure=lambda exc: failures.append(error_code(exc)),
            on_retry=lambda exc, attempts, delay: retries.append((error_code(exc), attempts, delay)),
        )
    assert failures == ["ThrottlingException"] * 3  # the last one too
    assert retries == [("ThrottlingException", 1, 0.5), ("ThrottlingException", 2, 1.0)]


def test_a_custom_predicate_decides_what_is_retried() -> None:
    clock = FakeClock()
    call = Flaky(KeyError("flaky"))
    assert (
        call_with_retries(
            call,
            RetryPolicy(max_attempts=2),
            clock=clock,
            sleep=clock.sleep,
            rand=lambda: 0.0,
            retryable=lambda exc: isinstance(exc, KeyError),
        )
        == "ok"
    )
    assert clock.sleeps == [0.0]
