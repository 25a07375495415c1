"""Ticket creation latency and idempotency under concurrency, against moto_server on 127.0.0.1.

    .venv/bin/python -m bench.tickets [--creates 500] [--concurrent 200] [--keys 50]

Starts a ThreadedMotoServer on 127.0.0.1 (a free port), creates the tickets table with `init_table`, then prints:
1. `DynamoTicketStore.create` latency p50/p95/p99 over --creates sequential creates (one conditional PutItem each);
2. the whole `TicketDesk.open_ticket` path (create, claim, SES v2 SendEmail to IT and to the requester, record the
   result: 1 PutItem + 3 UpdateItem + 2 SendEmail) p50/p95 over the same count;
3. --concurrent creates released at once from as many threads, over --keys idempotency keys (duplicates of each),
   then a full scan: items per key, and the duplicate count (items beyond one per key).
The same figures for the local SQLite store are printed for comparison. Figures only; nothing is asserted.
Dummy credentials are passed to explicit clients; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.tickets.base import Ticket
from assistant.tickets.config import TicketsConfig
from assistant.tickets.desk import Requester, TicketDesk, TicketRequest


def percentiles(samples_ms: list[float]) -> str:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return f"p50 {q[49]:.2f} ms, p95 {q[94]:.2f} ms, p99 {q[98]:.2f} ms, max {max(samples_ms):.2f} ms"


def timed(n: int, fn: Callable[[int], Any]) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def ticket(i: int, key: str = "") -> Ticket:
    return Ticket(
        "",
        f"Question {i}: the VPN drops every hour 📶 " + "detail " * 40,
        requester_id=f"U{i % 17:04d}",
        requester_name="Zoë",
        requester_email="zoe@example.com",
        permalink="https://acme.slack.com/archives/C1/p1",
        draft_answer="Try updating the client [1]. " * 5,
        sources=[{"page_id": str(p), "title": f"Page {p}", "url": f"https://wiki.example.test/{p}"} for p in range(5)],
        confidence=0.31,
        idempotency_key=key,
    )


def concurrent_creates(store: Any, total: int, keys: int) -> tuple[dict[str, set[str]], float]:
    barrier = threading.Barrier(total)

    def one(i: int) -> tuple[str, str]:
        key = f"Ev{i % keys:05d}-{run_id}"
        barrier.wait()
        return key, store.create(ticket(i, key)).ticket_id

    run_id = f"{time.time_ns():x}"
    start = time.perf_counter()
    with ThreadPoolExecutor(total) as pool:
        results = list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - start
    per_key: dict[str, set[str]] = {}
    for key, ticket_id in results:
        per_key.setdefault(key, set()).add(ticket_id)
    return per_key, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--keys", type=int, default=50)
    args = parser.parse_args()

    import logging

    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise

    from assistant.mail.ses import SesMailer
    from assistant.tickets.dynamodb import DynamoTicketStore, init_table
    from assistant.tickets.sqlite import SqliteTicketStore

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    config = Config(max_pool_connections=args.concurrent + 8, retries={"mode": "standard", "max_attempts": 5})
    dynamo = session.client("dynamodb", endpoint_url=endpoint, config=config)
    ses = session.client("sesv2", endpoint_url=endpoint, config=config)
    ses.create_email_identity(EmailIdentity="helpdesk-bot@example.com")
    print(init_table(TicketsConfig(), "bench-tickets", client=dynamo))
    store = DynamoTicketStore("bench-tickets", client=dynamo)
    desk = TicketDesk(store, SesMailer(ses))
    requester = Requester(user_id="U1", name="Zoë", email="zoe@example.com", permalink="https://s/p")

    try:
        for i in range(20):  # warm-up: connections, moto's lazy backends
            store.create(ticket(i))
        created = timed(args.creates, lambda i: store.create(ticket(i)))
        print(f"DynamoDB (moto_server) create, n={args.creates}: {percentiles(created)}")
        opened = timed(
            args.creates,
            lambda i: desk.open_ticket(TicketRequest(f"Question {i} 📶", "low_confidence", requester)),
        )
        print(f"DynamoDB + SES (moto_server) open_ticket with both emails, n={args.creates}: {percentiles(opened)}")

        per_key, elapsed = concurrent_creates(store, args.concurrent, args.keys)
        items = [
            item
            for page in dynamo.get_paginator("scan").paginate(
                TableName="bench-tickets", ProjectionExpression="idempotency_key"
            )
            for item in page["Items"]
            if item.get("idempotency_key", {}).get("S", "") in per_key
        ]
        stored = Counter(item["idempotency_key"]["S"] for item in items)
        duplicates = sum(count - 1 for count in stored.values())
        split = sum(1 for ids in per_key.values() if len(ids) > 1)
        print(
            f"DynamoDB (moto_server) {args.concurrent} concurrent creates over {args.keys} keys in {elapsed:.2f} s: "
            f"{len(items)} items stored for {len(per_key)} keys, duplicate items {duplicates}, "
            f"keys answered with more than one id {split}"
        )
    finally:
        server.stop()

    with tempfile.TemporaryDirectory() as tmp:
        local = SqliteTicketStore(Path(tmp) / "t.sqlite3")
        local_created = timed(args.creates, lambda i: local.create(ticket(i)))
        print(f"SQLite create, n={args.creates}: {percentiles(local_created)}")
        per_key, elapsed = concurrent_creates(local, args.concurrent, args.keys)
        rows = Counter(t.idempotency_key for t in local.list(limit=100_000) if t.idempotency_key in per_key)
        print(
            f"SQLite {args.concurrent} concurrent creates over {args.keys} keys in {elapsed:.2f} s: "
            f"{sum(rows.values())} rows for {len(per_key)} keys, duplicate rows {sum(c - 1 for c in rows.values())}"
        )


if __name__ == "__main__":
    main()
