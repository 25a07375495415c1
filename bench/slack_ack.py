"""Ack latency of the Slack entry point, in-process and warm: 1,000 signed events through `handler.lambda_handler`.

    .venv/bin/python -m bench.slack_ack [--events 1000]

The events are a round-robin of mentions, DMs, `/helpdesk` questions, button clicks and ignored bot messages.
What the ack does besides verifying and dispatching is the hand-off of the work, measured three ways:
- `none`: the hand-off recorded but not made (the floor: signature, parsing, Bolt dispatch, the log line);
- `lambda`: Bolt's lazy listeners as on AWS, an asynchronous `lambda:Invoke` of this function through a real
  boto3 client, against a local stub endpoint on 127.0.0.1 (no AWS network latency included);
- `sqs`: a receiver/worker split, the receiver sending the request to an SQS queue through a real boto3 client,
  against a local stub of SQS's JSON API on 127.0.0.1 (same kind of stub as for Lambda, so the two compare the
  client-side cost of each hand-off).
Ignored events (the bot message) hand nothing off in any design.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench._slack import SECRET, TOKEN, FakeSlackApi, mixed_events, percentile, quiet_logging


class _Ctx:
    function_name = "helpdesk-slack"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:helpdesk-slack"
    aws_request_id = "bench"
    memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class _AwsStub:
    """Answers Lambda's Invoke (InvocationType=Event: 202, empty) and SQS's SendMessage (JSON protocol, with the
    MD5 botocore checks), as the services do; nothing else."""

    def __enter__(self) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target", "").startswith("AmazonSQS."):
                    body = json.loads(raw)["MessageBody"].encode()
                    out = json.dumps(
                        {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": hashlib.md5(body).hexdigest()}
                    )
                    data = out.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-amz-json-1.0")
                else:
                    data = b""
                    self.send_response(202)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _NoHandOff:
    def __init__(self) -> None:
        self.logger = logging.getLogger("bench")
        self.started = 0

    def start(self, function: Any, request: Any) -> None:
        self.started += 1


class _SqsHandOff:
    """The receiver half of a receiver/worker split: the signed request goes to a queue for a worker Lambda."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.logger = logging.getLogger("bench")
        self.client = client
        self.queue_url = queue_url
        self.started = 0

    def start(self, function: Any, request: Any) -> None:
        signed = request.context["lambda_request"]  # the event as received: the signed body and its headers
        body = {"raw_body": signed["body"], "headers": {k: v[0] for k, v in request.headers.items() if v}}
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))
        self.started += 1


def _run(variant: str, n: int, fake: FakeSlackApi, home: Path) -> dict[str, Any]:
    import boto3

    import handler
    from assistant.slack.config import SlackConfig
    from assistant.slack.store import SqliteSlackStore
    from helpdesk import slack_lambda as aws
    from helpdesk.settings import Settings
    from helpdesk.slack_runtime import build_runtime

    settings = Settings(slack=SlackConfig(signing_secret=SECRET, bot_token=TOKEN, api_url=fake.api_url), home=home)
    store = SqliteSlackStore(home / f"{variant}.sqlite3")
    creds = {"store": store, "assistant": lambda: None, "desk": lambda: None}
    stub = _AwsStub()
    url = stub.__enter__()
    if variant == "none":
        runner: Any = _NoHandOff()
        runtime = build_runtime(settings, lazy_runner=runner, **creds)
    elif variant == "lambda":
        client = boto3.client(
            "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        runtime = build_runtime(settings, lambda_client=client, **creds)
        runner = client
    else:
        sqs = boto3.client(
            "sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        runner = _SqsHandOff(sqs, f"{url}/123456789012/helpdesk-worker")
        runtime = build_runtime(settings, lazy_runner=runner, **creds)
    aws.set_runtime(runtime)
    try:
        ctx = _Ctx()
        for event in mixed_events(50, fake.response_url()):  # warm-up
            handler.lambda_handler(event, ctx)
        events = mixed_events(n, fake.response_url())
        times, statuses = [], []
        for event in events:
            started = time.perf_counter()
            response = handler.lambda_handler(event, ctx)
            times.append((time.perf_counter() - started) * 1000)
            statuses.append(response["statusCode"])
        if fake.calls():
            raise SystemExit("the ack path called the Slack API")
        return {
            "variant": variant,
            "events": n,
            "non_200": sum(s != 200 for s in statuses),
            "p50_ms": round(percentile(times, 50), 3),
            "p90_ms": round(percentile(times, 90), 3),
            "p99_ms": round(percentile(times, 99), 3),
            "max_ms": round(max(times), 3),
        }
    finally:
        aws.set_runtime(None)
        stub.__exit__()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--variants", default="none,lambda,sqs")
    args = parser.parse_args()
    with quiet_logging(), FakeSlackApi() as fake, tempfile.TemporaryDirectory() as tmp:
        rows = [_run(v, args.events, fake, Path(tmp)) for v in args.variants.split(",")]
    print(f"{'hand-off':10} {'events':>6} {'non-200':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in rows:
        print(
            f"{r['variant']:10} {r['events']:>6} {r['non_200']:>7} {r['p50_ms']:>8.3f} {r['p90_ms']:>8.3f} "
            f"{r['p99_ms']:>8.3f} {r['max_ms']:>8.3f}"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
