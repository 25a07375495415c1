"""Per-answer overhead excluding model time, and input tokens per answer.

    .venv/bin/python -m bench.answer_overhead [--chunks 100000] [--repeat 3]

For every question of examples/it-space-questions.jsonl it times what the assistant does around the model call,
with the real `BedrockAnswerer` code path and an in-process Converse client that replies instantly with a tool-use
answer (so model and network time are zero):

- retrieval (query embedding, FAISS, BM25, fusion), sources (budgeted, merged), request build (prompt, JSON-able
  body), parse (reply -> Answer) and the gate; p50/p95 of each and of their sum;
- on the sample space (49 pages) and on a generated index of --chunks chunks (sample chunks recombined with a
  synthetic vocabulary; 4 chunks per page), flat FAISS, built in memory;
- input tokens per answer (system prompt + tool schema + sources + question, ~4 characters per token; Claude's
  own count is usually within 10-15% of this): mean and p95, for the pages that reach the model.

No model is called and nothing is written outside a temporary folder. Takes about a minute for 100k chunks.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answerers.bedrock import BedrockAnswerer
from assistant.confidence import ConfidenceGate
from assistant.prompt import request_tokens, sources_tokens
from assistant.retrieval import HybridRetriever
from assistant.sources import build_sources
from index_store.format import Chunk, IndexBundle, build_faiss_index
from index_store.lexical import LexicalIndex
from index_store.local import LocalIndexStore
from ingest.embedders.local import StaticEmbedder
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "examples" / "it-space-questions.jsonl"
EXPORT = ROOT / "examples" / "it-space"


class InstantConverse:
    """A Converse client that answers at once, citing source 1 (what a tool-use reply looks like)."""

    def converse(self, **request: Any) -> Mapping[str, Any]:
        answer = {
            "answer": "Restart the client, then pick a gateway yourself [1].",
            "used_sources": [1],
            "sufficient": True,
        }
        return {
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t", "name": "submit_answer", "input": answer}}],
                }
            },
            "stopReason": "tool_use",
            "usage": {"inputTokens": 0, "outputTokens": 0},
        }


def sample_bundle(embedder: StaticEmbedder) -> IndexBundle:
    store = LocalIndexStore(tempfile.mkdtemp(prefix="overhead-"))
    run_ingest(ExportSource(EXPORT), embedder, store)
    return store.load()


def synthetic_bundle(embedder: StaticEmbedder, base: IndexBundle, n: int, seed: int = 0) -> IndexBundle:
    """`n` chunks: sentences of the sample chunks recombined, plus made-up product names for a realistic vocabulary."""
    rng = random.Random(seed)
    sentences = [s.strip() for c in base.chunks for s in c.body.replace("\n", ". ").split(". ") if len(s.split()) > 3]
    made_up = [f"{rng.choice(['flux', 'nimbus', 'quark', 'orbit', 'vela'])}{i}" for i in range(5000)]
    chunks = []
    for i in range(n):
        page = i // 4
        body = ". ".join(rng.sample(sentences, 8)) + f". See {rng.choice(made_up)} and {rng.choice(made_up)}."
        chunks.append(
            Chunk(
                chunk_id=f"c{i}",
                content_hash=f"h{i}",
                page_id=f"p{page}",
                ordinal=i % 4,
                title=f"Synthetic page {page}",
                url=f"https://wiki.example.test/p{page}",
                breadcrumb=("IT", f"Area {page % 40}"),
                heading=f"Part {i % 4}",
                body=body,
            )
        )
    texts = [c.embed_text for c in chunks]
    vectors = np.concatenate([embedder.embed_documents(texts[i : i + 4096]) for i in range(0, n, 4096)])
    return IndexBundle(
        embedder_id=embedder.embedder_id,
        dimension=embedder.dimension,
        chunks=chunks,
        pages={},
        index=build_faiss_index(vectors, embedder.dimension),
        lexical=LexicalIndex.build(texts),
    )


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - started) * 1000


def run(bundle: IndexBundle, embedder: StaticEmbedder, questions: list[str], repeat: int) -> dict[str, Any]:
    retriever = HybridRetriever(bundle, embedder)
    answerer = BedrockAnswerer("us.anthropic.claude-3-5-haiku-20241022-v1:0", client=InstantConverse())
    gate = ConfidenceGate()
    stages: dict[str, list[float]] = {k: [] for k in ("retrieval", "sources", "request", "call+parse", "gate", "total")}
    tokens: list[int] = []
    source_tokens: list[int] = []
    reach: list[int] = []
    for q in questions[:5]:  # warm-up: first FAISS/BM25 calls allocate
        retriever.retrieve(q)
    for r in range(repeat):
        for q in questions:
            result, t_ret = timed(lambda q=q: retriever.retrieve(q))
            sources, t_src = timed(lambda result=result: build_sources(result.pages))
            request, t_req = timed(lambda q=q, sources=sources: answerer._answer_request(q, sources, ()))
            answer, t_parse = timed(lambda q=q, sources=sources: answerer.answer(q, sources))
            _, t_gate = timed(lambda result=result, answer=answer: gate.decide(gate.score(result, answer.sufficient)))
            for key, value in zip(stages, (t_ret, t_src, t_req, t_parse, t_gate), strict=False):
                stages[key].append(value)
            stages["total"].append(t_ret + t_src + t_req + t_parse + t_gate)
            if r == 0:
                tokens.append(request_tokens(request))
                source_tokens.append(sources_tokens(sources))
                reach.append(int(gate.could_answer(result)))
    pct = {k: (float(np.percentile(v, 50)), float(np.percentile(v, 95))) for k, v in stages.items()}
    reached = [t for t, ok in zip(tokens, reach, strict=True) if ok]
    return {"stages": pct, "tokens_all": tokens, "tokens_reached": reached, "sources": source_tokens}


def report(name: str, bundle: IndexBundle, out: dict[str, Any]) -> None:
    print(f"\n{name}: {len(bundle.chunks):,} chunks")
    print("  stage         p50 ms   p95 ms")
    for stage, (p50, p95) in out["stages"].items():
        print(f"  {stage:12} {p50:7.2f}  {p95:7.2f}")
    src = out["sources"]
    print(f"  sources tokens per answer (budget 3000): mean {np.mean(src):.0f}, p95 {np.percentile(src, 95):.0f}")
    for label, toks in (
        ("every question", out["tokens_all"]),
        ("questions that reach the model", out["tokens_reached"]),
    ):
        if toks:
            print(
                f"  input tokens per answer, {label} (n={len(toks)}): mean {np.mean(toks):.0f}, "
                f"p95 {np.percentile(toks, 95):.0f}, max {max(toks)}"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000, help="size of the generated index (0: skip it)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    embedder = StaticEmbedder()
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    sample = sample_bundle(embedder)
    report("sample space", sample, run(sample, embedder, questions, args.repeat))
    if args.chunks:
        started = time.perf_counter()
        big = synthetic_bundle(embedder, sample, args.chunks)
        print(f"\n(generated and indexed {args.chunks:,} chunks in {time.perf_counter() - started:.1f}s)")
        report("generated index", big, run(big, embedder, questions, args.repeat))


if __name__ == "__main__":
    main()
