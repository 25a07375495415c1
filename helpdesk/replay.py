"""`helpdesk replay-failed`: send the asynchronous invocations that failed for good back to their Lambda function.

The stack's queue `<prefix>-failed-invocations` receives two kinds of message:

- a Lambda on-failure destination record (the worker, ingest, sweep): JSON with `requestContext.functionArn`,
  `requestContext.condition` (`RetriesExhausted`, `EventAgeExceeded`) and `requestPayload`, the original event;
- an EventBridge target's dead letter (a scheduled ingest or sweep Lambda could not be invoked): the body is the
  event itself, and the `TARGET_ARN` message attribute names the function.

SQS cannot invoke a Lambda (its console "redrive" only moves messages to another queue), so this reads each
message, invokes the function asynchronously with the original payload, and deletes the message only once Lambda
accepted the invoke (HTTP 202). A message that cannot be replayed stays in the queue and is reported. Replaying a
Slack answer is safe: the worker's dedupe claim drops one that was already answered. The worker refuses a Slack
request signed more than 6 hours ago (assistant/slack/gateway.py), so such a message is reported, not sent.

Parsing a message and deciding what to do with it are pure (`parse_message`); `replay_failed` does the I/O.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.slack.gateway import REINVOKE_MAX_AGE, BadRequest, decode_body, is_reinvocation, parse_payload
from assistant.slack.gateway import request_kind as slack_request_kind
from core.aws import LazyClient, error_code, error_message
from core.errors import HelpdeskError

log = logging.getLogger(__name__)

DEFAULT_QUEUE_NAME = "it-helpdesk-failed-invocations"  # the stack's `<prefix>-failed-invocations`, default prefix
VISIBILITY_TIMEOUT = 120  # seconds a received message stays hidden while this run handles it
RECEIVE_WAIT_SECONDS = 2  # long polling: a short poll may answer "empty" while messages wait on other servers


class ReplayError(HelpdeskError):
    """The queue or the functions could not be reached (exit code 1)."""


class ReplayInputError(HelpdeskError):
    """A queue that does not exist, or an AWS setting missing (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class FailedInvocation:
    """One queue message, understood. `problem` is why it cannot be replayed ("" when it can)."""

    message_id: str
    receipt_handle: str
    function: str = ""  # the function name or ARN to invoke
    payload: Any = None  # the original event
    origin: str = ""  # "lambda" (on-failure destination record) or "eventbridge" (target dead letter)
    condition: str = ""  # why it failed: RetriesExhausted, EventAgeExceeded, or EventBridge's ERROR_CODE
    what: str = ""  # a short description of the event, for the report (never its text)
    problem: str = ""


@dataclass
class Outcome:
    message_id: str
    function: str
    condition: str
    what: str
    result: str  # replayed | would replay | kept
    reason: str = ""


@dataclass
class ReplayReport:
    queue_url: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def kept(self) -> int:
        return self.count("kept")


def _attribute(message: Mapping[str, Any], name: str) -> str:
    value = (message.get("MessageAttributes") or {}).get(name) or {}
    return str(value.get("StringValue") or "")


def unqualified(function_arn: str) -> str:
    """`arn:...:function:NAME:$LATEST` -> `arn:...:function:NAME`; a version or alias qualifier is kept."""
    head, sep, rest = function_arn.partition(":function:")
    if not sep:
        return function_arn
    name, _, qualifier = rest.partition(":")
    return f"{head}:function:{name}" if qualifier in ("", "$LATEST") else function_arn


def describe(payload: Any, *, now: float) -> tuple[str, str]:
    """(what the event is, why it cannot be replayed or ""). A Slack re-invocation is described by its kind and
    event id; one signed longer ago than the worker accepts is not replayable."""
    if not isinstance(payload, Mapping):
        return type(payload).__name__, ""
    if not is_reinvocation(payload):
        return "event " + json.dumps(payload, sort_keys=True)[:80], ""
    headers = {str(k).lower(): str(v) for k, v in (payload.get("headers") or {}).items()}
    try:
        body = parse_payload(decode_body(payload), headers.get("content-type", ""))
        what = "slack " + slack_request_kind(body) + (f" {body['event_id']}" if body.get("event_id") else "")
    except BadRequest as exc:
        what = f"slack request ({exc.reason})"
    stamp = headers.get("x-slack-request-timestamp", "")
    if not stamp.isdigit():
        return what, "the Slack request has no timestamp; the worker would refuse it"
    age = now - int(stamp)
    if age > REINVOKE_MAX_AGE:
        return what, (
            f"the Slack request was signed {age / 3600:.1f} h ago; the worker refuses replays older than "
            f"{REINVOKE_MAX_AGE // 3600} h (answer the user by hand, then delete the message)"
        )
    return what, ""


def parse_message(message: Mapping[str, Any], *, function: str = "", now: float) -> FailedInvocation:
    """Understand one SQS message (pure). `function`, when given, is where every message goes."""
    message_id = str(message.get("MessageId", ""))
    receipt = str(message.get("ReceiptHandle", ""))
    base = FailedInvocation(message_id, receipt, function=function)
    try:
        body = json.loads(message.get("Body") or "")
    except json.JSONDecodeError as exc:
        return replace(base, problem=f"the body is not JSON ({exc.msg})")
    target_arn = _attribute(message, "TARGET_ARN")
    if isinstance(body, Mapping) and isinstance(body.get("requestContext"), Mapping) and "version" in body:
        context = body["requestContext"]
        if "requestPayload" not in body:
            return replace(base, origin="lambda", condition=str(context.get("condition", "")),
                         problem="the record holds no requestPayload (too large for the queue)")  # fmt: skip
        payload = body["requestPayload"]
        target = function or unqualified(str(context.get("functionArn", "")))
        origin, condition = "lambda", str(context.get("condition", ""))
    elif target_arn:
        payload, target = body, function or unqualified(target_arn)
        origin, condition = "eventbridge", _attribute(message, "ERROR_CODE")
    else:
        payload, target, origin, condition = body, function, "", ""
    what, problem = describe(payload, now=now)
    if not target:
        problem = problem or "no function recorded in the message; pass --function NAME"
    return FailedInvocation(message_id, receipt, target, payload, origin, condition, what, problem)


def _client_error(what: str, exc: Exception) -> ReplayError:
    code = error_code(exc)
    detail = f"{code}: {error_message(exc)}" if code else str(exc)
    return ReplayError(f"{what} failed ({detail})")


def resolve_queue_url(sqs: Any, queue_url: str | None) -> str:
    if queue_url:
        return queue_url
    from botocore.exceptions import ClientError

    try:
        return str(sqs.get_queue_url(QueueName=DEFAULT_QUEUE_NAME)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise ReplayInputError(
                f"no queue {DEFAULT_QUEUE_NAME} in this account and Region; pass --queue-url (the stack's "
                "FailedInvocationsQueueUrl output) or set AWS_REGION to the stack's Region"
            ) from exc
        raise _client_error("finding the queue", exc) from exc


def _receive(sqs: Any, queue_url: str, count: int, wait_seconds: int) -> list[dict[str, Any]]:
    from botocore.exceptions import ClientError

    try:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            VisibilityTimeout=VISIBILITY_TIMEOUT,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        )
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise ReplayInputError(f"no queue at {queue_url}") from exc
        raise _client_error("reading the queue", exc) from exc
    return list(response.get("Messages") or [])


def _messages(sqs: Any, queue_url: str, limit: int | None, wait_seconds: int) -> Iterator[dict[str, Any]]:
    """Each visible message once, up to `limit`: a message seen again (its visibility ran out) ends the run."""
    seen: set[str] = set()
    while limit is None or len(seen) < limit:
        batch = _receive(sqs, queue_url, 10 if limit is None else limit - len(seen), wait_seconds)
        fresh = [m for m in batch if m.get("MessageId") not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(str(message.get("MessageId")))
            yield message


def _invoke(lam: Any, item: FailedInvocation) -> str:
    """ "" when Lambda accepted the asynchronous invoke; else why not."""
    from botocore.exceptions import ClientError

    try:
        response = lam.invoke(
            FunctionName=item.function, InvocationType="Event", Payload=json.dumps(item.payload).encode("utf-8")
        )
    except ClientError as exc:
        return f"invoke refused ({error_code(exc)}: {error_message(exc)})"
    status = int(response.get("StatusCode") or 0)
    return "" if status == 202 else f"invoke answered {status}, not 202"


def replay_failed(
    *,
    queue_url: str | None = None,
    function: str = "",
    max_messages: int | None = None,
    dry_run: bool = False,
    sqs: Any = None,
    lambda_client: Any = None,
    clock: Callable[[], float] = time.time,
    wait_seconds: int = RECEIVE_WAIT_SECONDS,
) -> ReplayReport:
    """Replay up to `max_messages` (all when None). Messages kept in the queue are made visible again at the end."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    sqs_client = LazyClient.for_service("sqs", sqs)
    lambda_lazy = LazyClient.for_service("lambda", lambda_client)
    try:
        queue = resolve_queue_url(sqs_client.get(), queue_url)
        report = ReplayReport(queue, dry_run)
        kept: list[str] = []
        for message in _messages(sqs_client.get(), queue, max_messages, wait_seconds):
            item = parse_message(message, function=function, now=clock())
            outcome = Outcome(item.message_id, item.function, item.condition, item.what, "kept", item.problem)
            if not item.problem and dry_run:
                outcome.result = "would replay"
            elif not item.problem:
                outcome.reason = _invoke(lambda_lazy.get(), item)
                if not outcome.reason:
                    outcome.result = "replayed"
                    try:
                        sqs_client.get().delete_message(QueueUrl=queue, ReceiptHandle=item.receipt_handle)
                    except ClientError as exc:
                        outcome.reason = f"invoked, but not deleted ({error_code(exc)}); a second replay is harmless"
            if outcome.result != "replayed":
                kept.append(item.receipt_handle)
            report.outcomes.append(outcome)
        for receipt in kept:  # back to visible now, not after the visibility timeout
            try:
                sqs_client.get().change_message_visibility(QueueUrl=queue, ReceiptHandle=receipt, VisibilityTimeout=0)
            except ClientError as exc:
                log.warning("message stays hidden until its visibility timeout", extra={"code": error_code(exc)})
        return report
    except NoRegionError as exc:
        raise ReplayInputError("no AWS Region: set AWS_REGION to the stack's Region") from exc
    except NoCredentialsError as exc:
        raise ReplayError("no AWS credentials found (set AWS_PROFILE or the usual AWS variables)") from exc
    except BotoCoreError as exc:
        raise ReplayError(f"AWS call failed: {exc}") from exc


def format_report(report: ReplayReport) -> list[str]:
    """One line per message, then a summary."""
    lines = []
    for o in report.outcomes:
        cause = f" [{o.condition}]" if o.condition else ""
        reason = f": {o.reason}" if o.reason else ""
        lines.append(f"{o.result:<12} {o.message_id} -> {o.function or '?'}{cause} {o.what}{reason}")
    done = report.count("would replay") if report.dry_run else report.count("replayed")
    verb = "would replay" if report.dry_run else "replayed"
    lines.append(f"{verb} {done}, kept {report.kept} in {report.queue_url}")
    return lines


def cmd_replay_failed(args: Any, settings: Any) -> int:
    """The `helpdesk replay-failed` command: exit 0 when every message read was replayed (or would be), 1 when
    some stay in the queue."""
    report = replay_failed(
        queue_url=args.queue_url, function=args.function or "", max_messages=args.max, dry_run=args.dry_run
    )
    for line in format_report(report):
        print(line)
    return 1 if report.kept and not report.dry_run else 0
