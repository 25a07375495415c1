"""AWS helpers every service module shares: the error code, message and HTTP status of a botocore error, and a
lazily created client.

boto3 is imported only when a client is first needed, so importing a module that may talk to AWS costs nothing
on the local path and on cold starts that never reach that service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any


def error_code(exc: BaseException) -> str:
    """The service's error code (`ThrottlingException`, `NoSuchKey`, `404`...); "" when `exc` carries none."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", "") or "")


def error_message(exc: BaseException) -> str:
    """The service's error message; "" when `exc` carries none."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Message", "") or "")


def http_status(exc: BaseException) -> int:
    """The HTTP status of the service's reply (429, 503...); 0 when `exc` carries none."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return 0
    try:
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    except (TypeError, ValueError):
        return 0


class LazyClient:
    """A boto3 client made on first use (once, under a lock: boto3's default session is not thread-safe), or the
    client given. `factory` builds it; `LazyClient.for_service("s3", options={...})` is the usual one."""

    def __init__(self, factory: Callable[[], Any], client: Any = None) -> None:
        self._factory = factory
        self._client = client
        self._lock = threading.Lock()

    @classmethod
    def for_service(
        cls, service: str, client: Any = None, *, options: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> LazyClient:
        """`boto3.client(service, **kwargs)` on first use; `options` (timeouts, retries, pool size) become its
        `botocore.config.Config`, so botocore too is imported only then."""
        settings = dict(options or {})

        def make() -> Any:
            import boto3

            if settings:
                from botocore.config import Config

                return boto3.client(service, config=Config(**settings), **kwargs)
            return boto3.client(service, **kwargs)

        return cls(make, client)

    @classmethod
    def single_attempt(
        cls, service: str, client: Any = None, *, connect_timeout: float, read_timeout: float
    ) -> LazyClient:
        """A client whose retries are ours (`core.retry`): botocore makes exactly one attempt per call."""
        options = {
            "retries": {"mode": "standard", "total_max_attempts": 1},
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        return cls.for_service(service, client, options=options)

    @property
    def created(self) -> bool:
        return self._client is not None

    def get(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client
