"""Cold load of the index from S3 (moto's server) at 100k chunks, query latency and memory.

    .venv/bin/python -m bench.index_s3 [--chunks 100000]

A whole index (SQ8, d=256: FAISS + docstore.sqlite + lexical.tantivy + embeddings) of N chunks published with
   S3IndexStore to moto's server on 127.0.0.1, then loaded by a fresh process with an empty cache, as a cold Lambda
   would: time to the FAISS index (GET + sha256 + deserialise), time to the whole reader bundle, RSS, and hybrid
   query latency.
   moto on loopback is not S3: real GETs in-region add latency and give ~100+ MB/s per connection.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bench.index_types import synthetic  # noqa: E402


def build_bundle(n: int, d: int):  # type: ignore[no-untyped-def]
    import random

    from index_store.format import Chunk, IndexBundle, StoredPage, build_faiss_index, new_version_id

    rng = random.Random(1)
    vocab = [f"term{i}" for i in range(20_000)]
    x, _ = synthetic(n, d, seed=11)
    chunks, pages = [], {}
    per_page = 5
    for i in range(n):
        pid = str(100_000 + i // per_page)
        body = " ".join(rng.choices(vocab, k=rng.randint(60, 140)))
        chunks.append(
            Chunk(
                f"c{i:08d}",
                f"{i:064x}",
                pid,
                i % per_page,
                f"Page {pid}",
                f"https://wiki/{pid}",
                ("IT Help Center", "Section"),
                f"Heading {i % per_page}",
                body,
            )
        )
        pages[pid] = StoredPage(pid, f"Page {pid}", f"https://wiki/{pid}", 1, f"{i:064x}", "IT")
    print(f"(bundle of {n:,} chunks built; the docstore and the lexical index are written when it is encoded)")
    return IndexBundle(
        embedder_id="bedrock/amazon.titan-embed-text-v2:0",
        dimension=d,
        chunks=chunks,
        pages=pages,
        index=build_faiss_index(x, d, "sq8"),
        lexical=None,
        embeddings=x,
        version=new_version_id(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        index_type="sq8",
    )


CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
import numpy as np, faiss, boto3, botocore
from index_store.s3 import S3IndexStore
from index_store.format import parse_manifest, verify_file, FAISS_FILE, MANIFEST
from assistant.retrieval import HybridRetriever
faiss.omp_set_num_threads(1)
boto3.client('s3')  # credentials and endpoint resolution, as a warm Lambda init would have done
base = rss()
store = S3IndexStore({location!r}, cache_dir={cache!r})
s3 = store.client
t = time.perf_counter()
pointer = store._read_pointer()
get = lambda name: s3.get_object(Bucket=store.bucket, Key=store._key('versions', pointer.version, name))['Body'].read()
m = parse_manifest(get(MANIFEST), 'x')
blob = get(FAISS_FILE)
verify_file(m, FAISS_FILE, blob, 'x')
index = faiss.deserialize_index(np.frombuffer(blob, dtype=np.uint8))
faiss_only = time.perf_counter() - t
faiss_rss = rss() - base
del index, blob
t = time.perf_counter()
bundle = store.load()
whole = time.perf_counter() - t
whole_rss = rss() - base
t = time.perf_counter()
again = S3IndexStore({location!r}, cache_dir={cache!r}).load()
cached = time.perf_counter() - t
del again
class Q:
    dimension = bundle.dimension
    embedder_id = bundle.embedder_id
    def __init__(self):
        self.rng = np.random.default_rng(5)
    def embed_query(self, text):
        v = self.rng.standard_normal(self.dimension).astype('float32')
        return v / np.linalg.norm(v)
retriever = HybridRetriever(bundle, Q(), candidates=50)
words = ['term%d' % i for i in range(0, 20000, 37)]
dense, hybrid = [], []
for i in range(200):
    qv = Q().embed_query('')[None, :]
    t0 = time.perf_counter(); bundle.index.search(qv, 50); dense.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    retriever.retrieve(' '.join(words[i % len(words):][:6]), k=10)
    hybrid.append((time.perf_counter() - t0) * 1000)
print(json.dumps(dict(faiss_only=faiss_only, faiss_rss=faiss_rss, whole=whole, whole_rss=whole_rss, cached=cached,
    dense=sorted(dense), hybrid=sorted(hybrid))))
"""


def s3_cold_load(n: int) -> None:
    import boto3
    from fakes.moto_server import MotoServer

    from index_store.format import encode_bundle
    from index_store.s3 import S3IndexStore

    print(f"\n## SQ8, d=256, {n:,} chunks: publish to S3 (moto's server), cold load in a fresh process")
    server = MotoServer().start()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_S3": server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    try:
        boto3.client("s3").create_bucket(Bucket="bench-index")
        bundle = build_bundle(n, 256)
        started = time.perf_counter()
        sizes = {name: len(data) for name, data in encode_bundle(bundle).items()}
        print(f"encode (FAISS, docstore, lexical index, embeddings): {time.perf_counter() - started:.1f}s")
        print("files: " + ", ".join(f"{k} {v / 1e6:.1f}MB" for k, v in sizes.items()))
        location = "s3://bench-index/kb"
        started = time.perf_counter()
        S3IndexStore(location, cache_dir=tempfile.mkdtemp()).publish(bundle)
        print(f"publish (upload, verify, pointer switch): {time.perf_counter() - started:.2f}s")
        del bundle
        code = CHILD.format(root=str(ROOT), location=location, cache=tempfile.mkdtemp(prefix="bench-cold-"))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        p = lambda xs, q: xs[int(q * (len(xs) - 1))]  # noqa: E731
        print(
            f"cold load, FAISS index only (GET + sha256 + deserialise): {r['faiss_only']:.3f}s, "
            f"+{r['faiss_rss']:.1f}MB RSS"
        )
        print(
            f"cold load, whole reader bundle (FAISS + docstore.sqlite, verified, cached): {r['whole']:.2f}s, "
            f"+{r['whole_rss']:.0f}MB RSS"
        )
        print(f"warm start from the /tmp cache (pointer GET + verify + decode): {r['cached']:.2f}s")
        print(f"query, FAISS search for 50 candidates: p50 {p(r['dense'], 0.5):.2f}ms, p95 {p(r['dense'], 0.95):.2f}ms")
        print(
            f"query, hybrid retrieval (dense + BM25 + fusion, no embedding call): p50 {p(r['hybrid'], 0.5):.2f}ms, "
            f"p95 {p(r['hybrid'], 0.95):.2f}ms"
        )
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    args = ap.parse_args()
    s3_cold_load(args.chunks)


if __name__ == "__main__":
    main()
