"""The Lambda entry point's state: one runtime per cold start (settings, secrets, clients, the Bolt app)."""

from __future__ import annotations

import json
import threading
from typing import Any

from core.errors import HelpdeskError
from helpdesk.settings import Settings
from helpdesk.slack_runtime import SlackRuntime, build_runtime, logger

_lock = threading.Lock()
_runtime: SlackRuntime | None = None


def get_runtime() -> SlackRuntime:
    """Built on the first request of a cold start and kept; a failed build is retried on the next request."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(Settings.from_env())
        return _runtime


def set_runtime(runtime: SlackRuntime | None) -> None:
    """Install a runtime built elsewhere (tests, the local server), or drop the cached one."""
    global _runtime
    with _lock:
        _runtime = runtime


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        runtime = get_runtime()
    except HelpdeskError as exc:  # misconfiguration: say what, never a secret value
        logger.error("slack app unavailable", extra={"error": str(exc)})
        return {
            "statusCode": 500,
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"error": "unavailable"}),
        }
    return runtime.handle(event, context)
