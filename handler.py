"""AWS Lambda entry points. Wiring only: the work lives in the packages.

- `lambda_handler`: Slack events, commands and interactivity behind API Gateway.
- `worker_handler`: the same Slack code, deployed as a separate worker Lambda when the stack splits receiver/worker.
- `ingest_handler`: the scheduled re-index (EventBridge; `{"full": true}` for the full sweep).
- `sweep_handler`: the scheduled retry of ticket emails that failed (outbox pattern).
- `digest_handler`: the weekly digest for IT (EventBridge; `{"days": 7}`).

Nothing heavy is imported at module level: the Slack ack path must stay light.
"""

from __future__ import annotations

from typing import Any

from helpdesk import slack_lambda as _slack  # the ack path only: slack_bolt, slack_sdk, boto3 (no numpy/FAISS)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Slack events, slash commands and interactivity on POST /slack/events (API Gateway REST or HTTP API v2)."""
    return _slack.lambda_handler(event, context)


def worker_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The optional separate Slack worker (CDK `slack_worker_handler=handler.worker_handler`): it receives the
    lazy re-invocations the receiver sends to HELPDESK_SLACK_WORKER_FUNCTION and answers them; same code path."""
    return _slack.lambda_handler(event, context)


def ingest_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from helpdesk.scheduled import handle_scheduled

    return handle_scheduled(event, context)


def sweep_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from helpdesk.scheduled import handle_sweep

    return handle_sweep(event, context)


def digest_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from helpdesk.knowledge import handle_digest

    return handle_digest(event, context)
