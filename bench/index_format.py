"""What index format 2 costs at scale: ingest memory and time, cold `helpdesk ask`, lexical build, query latency.

    .venv/bin/python -m bench.index_format [--pages 20000] [--root TREE] [--queries 300]

Everything runs as a user runs it, each step in a fresh process (peak RSS from `wait4`), with the local embedder
and the extractive answerer, on a synthetic export of N pages made from the sample space
(`bench.lambda_memory.synthetic_export`; 20,000 pages are about 100k chunks):

- `helpdesk ingest` full, then again unchanged (wall, peak RSS);
- cold `helpdesk ask` over the sample index and over the N-page index (median of 3, wall and peak RSS);
- building the lexical side alone from the index's chunks (format 3: the tantivy index; format 2: the docstore
  with its FTS5 index);
- hybrid retrieval latency over the questions of both question sets (in one process, after a warm-up).

`--root` measures another checkout (a tree of format 1, for the comparison in docs/decisions/0013) with this
interpreter. Nothing here asserts; run it once or twice, not in a loop: at 20,000 pages it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lambda_memory import synthetic_export  # noqa: E402

QUESTION = "my vpn keeps disconnecting when I work from home"

CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from helpdesk.settings import Settings
from helpdesk.factory import build_embedder, build_index_store
from assistant.retrieval import HybridRetriever
import index_store.format as fmt
s = Settings.from_env({{"HELPDESK_HOME": {home!r}, "HELPDESK_EMBEDDER": "local"}})
store = build_index_store(s, {index!r})
bundle = store.load()
chunks = list(bundle.chunks)
t = time.perf_counter()
if getattr(fmt, "LEXICAL_FILE", None):
    from index_store.tantivy_index import lexical_bytes
    lexical_bytes(chunks)
    what = "lexical.tantivy (tantivy index, packed)"
elif fmt.DOCSTORE_FILE.endswith(".sqlite"):
    import pathlib, tempfile
    from index_store.docstore import write_docstore
    out = pathlib.Path(tempfile.mkdtemp()) / "d.sqlite"
    write_docstore(out, chunks, (bundle.pages[p] for p in sorted(bundle.pages)))
    what = "docstore.sqlite (chunk rows + FTS5)"
else:
    from index_store.lexical import LexicalIndex
    LexicalIndex.build([c.embed_text for c in chunks])
    what = "LexicalIndex.build (BM25 arrays)"
lexical_build = time.perf_counter() - t
del chunks
retriever = HybridRetriever(bundle, build_embedder(s, for_queries=True))
questions = []
for path in {questions!r}:
    questions += [json.loads(x)["question"] for x in open(path) if x.strip()]
questions = (questions * 10)[: {queries}]
for q in questions[:20]:
    retriever.retrieve(q, k=10)
lat = []
for q in questions:
    t0 = time.perf_counter()
    retriever.retrieve(q, k=10)
    lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
print(json.dumps({{"lexical_build_s": lexical_build, "lexical_build": what, "p50_ms": lat[len(lat) // 2],
    "p95_ms": lat[int(0.95 * (len(lat) - 1))], "queries": len(lat), "chunks": len(bundle.chunks)}}))
"""


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one fresh process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {text[-400:]}")
    return wall, usage.ru_maxrss / 1024, text


def last_json(text: str) -> dict:
    return json.loads([x for x in text.splitlines() if x.startswith("{")][-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=20_000)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args(argv)
    root = args.root.resolve()
    cli = [sys.executable, "-m", "helpdesk.cli"]
    with tempfile.TemporaryDirectory(prefix="bench-index-format-") as tmp:
        home = Path(tmp) / "home"
        # the static model: 20,000 pages take seconds to embed with it, about 15 minutes with the transformer
        env = {**os.environ, "HELPDESK_HOME": str(home), "PYTHONPATH": str(root), "HELPDESK_EMBEDDER": "local"}
        sample_index, big_index = Path(tmp) / "sample-index", Path(tmp) / "big-index"
        timed([*cli, "ingest", "--source", f"export:{root / 'examples/it-space'}", "--index", str(sample_index)],
              root, env)  # fmt: skip
        export = synthetic_export(Path(tmp) / "export", args.pages)
        rows = []
        wall, rss, out = timed([*cli, "ingest", "--source", f"export:{export}", "--index", str(big_index), "--json"],
                               root, env)  # fmt: skip
        summary = last_json(out)
        rows.append((f"ingest {args.pages} pages, full", wall, rss, f"{summary['chunks_total']} chunks"))
        wall, rss, out = timed([*cli, "ingest", "--source", f"export:{export}", "--index", str(big_index), "--json"],
                               root, env)  # fmt: skip
        rows.append((f"ingest {args.pages} pages, unchanged", wall, rss, f"published={last_json(out)['published']}"))
        for label, index in (("sample (49 pages)", sample_index), (f"{args.pages} pages", big_index)):
            runs = [timed([*cli, "ask", QUESTION, "--index", str(index), "--json"], root, env) for _ in range(3)]
            rows.append((f"cold helpdesk ask, {label}", statistics.median(r[0] for r in runs),
                         statistics.median(r[1] for r in runs), "median of 3"))  # fmt: skip
        sizes = {p.name: p.stat().st_size for p in next((big_index / "versions").iterdir()).iterdir()}
        questions = [str(root / "examples/it-space-questions.jsonl")]
        transfer = root / "examples/transfer-m365-questions.jsonl"
        if transfer.exists():
            questions.append(str(transfer))
        code = CHILD.format(root=str(root), home=str(home), index=str(big_index), questions=questions,
                            queries=args.queries)  # fmt: skip
        _, _, out = timed([sys.executable, "-c", code], root, env)
        child = last_json(out)
    print(f"tree {root}; {time.strftime('%Y-%m-%d')}; {child['chunks']} chunks")
    print(f"{'step':40} {'wall':>8} {'peak RSS':>10}  notes")
    for name, wall, rss, note in rows:
        print(f"{name:40} {wall:>6.2f} s {rss:>7.0f} MB  {note}")
    print(f"{'lexical build alone':40} {child['lexical_build_s']:>6.2f} s {'':>10}  {child['lexical_build']}")
    print(f"hybrid retrieval over {child['queries']} questions (local embedder): p50 {child['p50_ms']:.1f} ms, "
          f"p95 {child['p95_ms']:.1f} ms")  # fmt: skip
    print("files: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items()) if not k.startswith(".")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
