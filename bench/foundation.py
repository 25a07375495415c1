"""Foundation benchmark: ingest throughput and query latency, on the sample space and a generated large space.

    .venv/bin/python -m bench.foundation [--pages 20000] [--queries 200]

Prints figures; asserts nothing. The generated space recombines the sample pages' sections under new titles, so
its text and markup look like real pages (about 5 chunks each). Latency is `Assistant.ask` without tickets:
validation, embedding the query, dense + BM25 retrieval, fusion, source building, the extractive answer and the
confidence gate.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from helpdesk.factory import build_assistant
from helpdesk.settings import Settings
from index_store.local import LocalIndexStore
from ingest.embedders.local import StaticEmbedder
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "it-space"
QUESTIONS = ROOT / "examples" / "it-space-questions.jsonl"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def generate_space(folder: Path, pages: int, seed: int = 7) -> None:
    """`pages` synthetic pages in the export format, 100 per file like the REST API's pages of results."""
    rng = random.Random(seed)
    objs = []
    for f in sorted(SAMPLE.glob("*.json")):
        objs.extend(json.loads(f.read_text())["results"])
    bodies = [o["body"]["storage"]["value"] for o in objs]
    sections = [s for b in bodies for s in b.split("<h2>")[1:]]
    words = [w for o in objs for w in o["title"].split()]
    folder.mkdir(parents=True, exist_ok=True)
    batch = []
    for i in range(pages):
        body = "".join("<h2>" + s for s in rng.sample(sections, k=min(4, len(sections))))
        title = " ".join(rng.sample(words, k=4)) + f" {i}"
        batch.append(
            {
                "id": str(500000 + i),
                "type": "page",
                "title": title,
                "version": {"number": 1, "when": "2026-01-01T00:00:00.000Z"},
                "ancestors": [{"id": "1", "title": "Generated"}],
                "body": {"storage": {"value": body, "representation": "storage"}},
                "_links": {"webui": f"/spaces/GEN/pages/{500000 + i}"},
            }
        )
        if len(batch) == 100 or i == pages - 1:
            doc = {"results": batch, "size": len(batch), "_links": {"base": "https://wiki.example.test/wiki"}}
            (folder / f"content-{i // 100:05d}.json").write_text(json.dumps(doc))
            batch = []


def measure(label: str, export: Path, embedder: StaticEmbedder, queries: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        _measure(label, export, embedder, queries, Path(tmp))


def _measure(label: str, export: Path, embedder: StaticEmbedder, queries: list[str], location: Path) -> None:
    store = LocalIndexStore(location)
    t0 = time.perf_counter()
    s = run_ingest(ExportSource(export), embedder, store)
    ingest_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = run_ingest(ExportSource(export), embedder, store)
    rerun_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    assistant = build_assistant(Settings.from_env(), str(location), with_tickets=False, embedder=embedder)
    load_s = time.perf_counter() - t0
    for q in queries[:5]:
        assistant.ask(q, open_ticket=False)  # warm up
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        assistant.ask(q, open_ticket=False)
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"[{label}] {s.pages_seen} pages, {s.chunks_total} chunks")
    print(
        f"  ingest (full):        {ingest_s:7.2f} s  = {s.pages_seen / ingest_s:8.0f} pages/s, "
        f"{s.chunks_embedded / ingest_s:8.0f} chunks/s"
    )
    print(f"  re-ingest unchanged:  {rerun_s:7.2f} s  ({again.chunks_embedded} chunks embedded)")
    print(f"  index load:           {load_s:7.2f} s")
    print(
        f"  query latency:        p50 {percentile(lat, 50):6.1f} ms   p95 {percentile(lat, 95):6.1f} ms "
        f"({len(lat)} queries)"
    )
    print(f"  peak RSS so far:      {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:7.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pages", type=int, default=20000, help="size of the generated space")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    questions = [json.loads(x)["question"] for x in QUESTIONS.read_text().splitlines() if x.strip()]
    queries = (questions * (args.queries // len(questions) + 1))[: args.queries]
    embedder = StaticEmbedder()
    measure("sample space", SAMPLE, embedder, queries)
    with tempfile.TemporaryDirectory(prefix="bench-space-") as tmp:
        t0 = time.perf_counter()
        generate_space(Path(tmp), args.pages)
        print(f"(generated {args.pages} pages in {time.perf_counter() - t0:.1f} s)")
        measure(f"generated {args.pages}-page space", Path(tmp), embedder, queries)


if __name__ == "__main__":
    main()
