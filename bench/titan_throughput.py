"""Full ingest against a bedrock-runtime fake that answers each call in 50 ms: calls per second at concurrency 8.

    .venv/bin/python -m bench.titan_throughput [--pages 600] [--latency 0.05] [--concurrency 8]

The fake runs in its own process (as Bedrock would), reached through AWS_ENDPOINT_URL_BEDROCK_RUNTIME by the real
boto3 client. Ideal throughput is concurrency / latency (160 calls/s at 8 and 50 ms); the goal is >= 90% of it.
Prints the embedding-phase rate (time inside embed_documents) and the whole-run rate (parse, chunk, index, publish
included).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import page_object, write_export  # noqa: E402

from index_store.local import LocalIndexStore  # noqa: E402
from ingest.embedders.bedrock import TitanEmbedder  # noqa: E402
from ingest.pipeline import IngestOptions, run_ingest  # noqa: E402
from ingest.sources.export import ExportSource  # noqa: E402

FAKE = """
import sys, time
sys.path.insert(0, {tests!r})
from fakes.titan import TitanFake
fake = TitanFake(latency={latency}).start()
print(fake.url, flush=True)
sys.stdin.read()
print(fake.calls, fake.max_in_flight, flush=True)
"""


class TimedTitan(TitanEmbedder):
    spent = 0.0

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return super().embed_documents(texts)
        finally:
            self.spent += time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=600)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    code = FAKE.format(tests=str(ROOT / "tests"), latency=args.latency)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = url
        tmp = Path(tempfile.mkdtemp(prefix="bench-titan-"))
        rng = random.Random(7)
        vocab = [f"term{n}" for n in range(3000)]

        def section(i: int, s: int) -> str:
            return f"<h2>Step {s}</h2><p>Guide {i} step {s}: {' '.join(rng.choices(vocab, k=120))}.</p>"

        objs = [page_object(str(i), f"Guide {i}", "".join(section(i, s) for s in range(3))) for i in range(args.pages)]
        folder = write_export(tmp / "export", objs, per_file=100)
        emb = TimedTitan(concurrency=args.concurrency)
        emb.embed_query("warm up the client and the connection pool")
        warm = emb.stats.snapshot().calls
        started = time.perf_counter()
        s = run_ingest(ExportSource(folder), emb, LocalIndexStore(tmp / "index"), IngestOptions(index_type="sq8"))
        total = time.perf_counter() - started
        calls = emb.stats.snapshot().calls - warm
        ideal = args.concurrency / args.latency
        rate = calls / emb.spent
        print(
            f"pages {s.pages_seen}, chunks embedded {s.chunks_embedded}, Titan calls {calls}, "
            f"input tokens {s.embed_input_tokens}, retries {s.embed_retries}"
        )
        print(
            f"embedding phase: {emb.spent:.2f}s -> {rate:.1f} calls/s = {100 * rate / ideal:.1f}% of ideal "
            f"{ideal:.0f} calls/s (concurrency {args.concurrency}, {args.latency * 1000:.0f} ms per call)"
        )
        print(
            f"whole ingest:    {total:.2f}s -> {calls / total:.1f} calls/s "
            f"= {100 * calls / total / ideal:.1f}% of ideal"
        )
    finally:
        out, _ = proc.communicate("", timeout=30)
        fake_calls, max_in_flight = out.split()
        print(f"fake saw {fake_calls} calls, at most {max_in_flight} in flight")


if __name__ == "__main__":
    main()
