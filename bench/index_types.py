"""FAISS index types at 100k chunks, one thread: memory, build, deserialise, search p50/p95, recall@10.

    .venv/bin/python -m bench.index_types [--chunks 100000] [--hnsw]

Synthetic unit vectors (a mixture of 5,000 topics, like embeddings of a knowledge base); recall@10 of each type
against exact float32 search at the same dimension; 50 candidates per query (what retrieval asks for).
HNSW32 is optional (slow to build here).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic(n: int, d: int, seed: int = 0, topics: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, d)).astype(np.float32)
    labels = rng.integers(0, topics, n)
    x = centres[labels] + 0.9 * rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = centres[rng.integers(0, topics, 300)] + 0.9 * rng.standard_normal((300, d)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.ascontiguousarray(x), np.ascontiguousarray(q)


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def index_types(n: int, hnsw: bool) -> None:
    import faiss

    faiss.omp_set_num_threads(1)
    print(f"## index types at {n:,} chunks, one thread, 50 candidates per query")
    print(f"{'index':16} {'memory':>9} {'build':>8} {'deserialise':>12} {'p50':>8} {'p95':>8} {'recall@10':>10}")
    configs = [("flat", 1024), ("flat", 256), ("sq8", 1024), ("sq8", 256)] + ([("hnsw32", 256)] if hnsw else [])
    data: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for kind, d in configs:
        if d not in data:
            x, q = synthetic(n, d, seed=d)
            exact = faiss.IndexFlatIP(d)
            exact.add(x)
            _, truth = exact.search(q, 10)
            data[d] = (x, q, truth)
        x, q, truth = data[d]
        started = time.perf_counter()
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
        elif kind == "sq8":
            index = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
            index.train(x)
        else:
            index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.add(x)
        build = time.perf_counter() - started
        blob = faiss.serialize_index(index)
        started = time.perf_counter()
        index = faiss.deserialize_index(blob)
        load = time.perf_counter() - started
        times = []
        for row in q[:200]:
            t = time.perf_counter()
            index.search(row[None, :], 50)
            times.append((time.perf_counter() - t) * 1000)
        _, got = index.search(q, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, truth, strict=True)])
        p50, p95 = percentiles(times)
        print(
            f"{kind + ', d=' + str(d):16} {blob.nbytes / 1e6:7.1f}MB {build:7.2f}s {load:11.3f}s "
            f"{p50:6.2f}ms {p95:6.2f}ms {recall:10.4f}"
        )
        del index, blob


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--hnsw", action="store_true", help="also build HNSW32 (slow: ~35 s here)")
    args = ap.parse_args()
    index_types(args.chunks, args.hnsw)


if __name__ == "__main__":
    main()
