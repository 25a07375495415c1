"""AWS stand-ins for the tickets and mail tests: moto (in-process or ThreadedMotoServer on 127.0.0.1), reading
sent SES mail back from moto's backend, and botocore event hooks that inject SES failures."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


@contextmanager
def moto_server() -> Iterator[str]:
    """A ThreadedMotoServer on 127.0.0.1 (a free port); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def ses_core_backend() -> Any:
    """moto's SES backend that SES v2 SendEmail writes to (shared by mock_aws and a ThreadedMotoServer)."""
    from moto.ses.models import ses_backends

    return ses_backends[ACCOUNT][REGION]


@dataclass
class SentMail:
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str
    reply_to: list[str] = field(default_factory=list)
    ticket_header: str = ""


class SesRecorder:
    """Reads back what SesMailer sent. Subject, HTML body, sender and recipients come from moto's backend (what
    "SES" accepted); moto keeps only the Html part of Simple content, so the Text part, Reply-To and headers come
    from the SendEmail requests this hook saw succeed, matched by MessageId."""

    def __init__(self, client: Any) -> None:
        self._requests: dict[str, dict[str, Any]] = {}
        self._pending: dict[int, dict[str, Any]] = {}
        client.meta.events.register("provide-client-params.sesv2.SendEmail", self._before)
        client.meta.events.register("after-call.sesv2.SendEmail", self._after)

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorder_params"] = dict(params)

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "MessageId" in parsed and "recorder_params" in context:
            self._requests[parsed["MessageId"]] = context["recorder_params"]

    def sent(self) -> list[SentMail]:
        out = []
        for message in ses_core_backend().sent_messages:
            request = self._requests.get(message.id, {})
            simple = request.get("Content", {}).get("Simple", {})
            headers = {h["Name"]: h["Value"] for h in simple.get("Headers", [])}
            out.append(
                SentMail(
                    sender=message.source,
                    to=list(message.destinations.get("ToAddresses", [])),
                    subject=message.subject,
                    text=simple.get("Body", {}).get("Text", {}).get("Data", ""),
                    html=message.body,
                    reply_to=list(request.get("ReplyToAddresses", [])),
                    ticket_header=headers.get("X-Helpdesk-Ticket", ""),
                )
            )
        return out


def read_outbox(folder: Path) -> list[SentMail]:
    """The .eml files an OutboxMailer wrote, oldest first, parsed as RFC 5322 messages."""
    out = []
    files = sorted(folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name)) if folder.exists() else []
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        out.append(
            SentMail(
                sender=str(msg["From"]),
                to=[a.strip() for a in str(msg["To"]).split(",")],
                subject=str(msg["Subject"]),
                text=msg.get_body(("plain",)).get_content(),
                html=msg.get_body(("html",)).get_content(),
                reply_to=[a.strip() for a in str(msg["Reply-To"]).split(",")] if msg["Reply-To"] else [],
                ticket_header=str(msg["X-Helpdesk-Ticket"] or ""),
            )
        )
    return out


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.text = ""


class SesFaults:
    """Makes the next SendEmail calls of one client fail with an SES error code: a botocore `before-call` hook
    short-circuits the request, so botocore raises the ClientError exactly as for a real error response.
    `fail(..., to=ADDRESS)` only fails sends to that recipient."""

    def __init__(self, client: Any) -> None:
        self.queue: list[tuple[str, int, str, str | None]] = []
        self.injected = 0
        client.meta.events.register("provide-client-params.sesv2.SendEmail", self._remember)
        client.meta.events.register("before-call.sesv2.SendEmail", self._hook)

    def fail(self, code: str, *, times: int = 1, status: int = 400, message: str = "injected", to: str | None = None):
        self.queue += [(code, status, message, to)] * times

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["faults_to"] = list(params.get("Destination", {}).get("ToAddresses", []))

    def _hook(self, context: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]] | None:
        for n, (code, status, message, to) in enumerate(self.queue):
            if to is None or to in context.get("faults_to", []):
                del self.queue[n]
                self.injected += 1
                return _Http(status), {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                }
        return None


@contextmanager
def linearizable_dynamodb() -> Iterator[None]:
    """Serialise moto's DynamoDB writes and reads, as DynamoDB itself makes each single-item conditional write
    atomic. moto checks a condition and writes in separate steps, so two threads can both pass one check; tests
    that race threads on the same item use this so they test our code, not that gap in the stand-in."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {}
    for name in ("put_item", "update_item", "get_item", "delete_item", "query", "scan"):
        original = getattr(DynamoDBBackend, name)
        originals[name] = original

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


def ses_client(endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("sesv2", region_name=REGION, endpoint_url=endpoint_url)


def dynamo_client(endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url)


def bare_table(client: Any, name: str) -> None:
    """A table shaped like the existing deployment's: hash key ticket_id (S), no indexes."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def legacy_items(count: int = 57) -> list[dict[str, Any]]:
    """`count` raw items of assorted older shapes: most attributes missing, some of unexpected types."""
    shapes: list[dict[str, Any]] = [
        {},
        {"status": {"S": "OPEN"}, "description": {"S": "Laptop will not boot"}},
        {"question": {"S": "VPN drops every hour"}, "created": {"N": "1700000000"}},
        {"question": {"N": "42"}, "sources": {"S": "not a list"}, "confidence": {"S": "high"}},
        {"requester_id": {"S": "U0LEGACY"}, "created_at": {"S": "2024-05-01T10:00:00Z"}, "question": {"S": "Old"}},
        {"status": {"S": "open"}, "created_at": {"S": "2024-06-01T08:00:00Z"}, "question": {"S": "Printer"}},
        {"sources": {"L": [{"S": "https://wiki.example.test/x"}, {"M": {"title": {"N": "7"}}}, {"NULL": True}]}},
        {"tags": {"SS": ["hw", "urgent"]}, "blob": {"B": b"\x00\x01"}, "email_status": {"N": "3"}},
        {"requester_name": {"S": "Zoë 🚀"}, "updated_at": {"S": "2024-07-01T00:00:00Z"}, "note": {"NULL": True}},
    ]
    items = []
    for i in range(count):
        shape = shapes[i % len(shapes)]
        items.append({"ticket_id": {"S": f"LEGACY-{i:03d}"}, **shape})
    return items
