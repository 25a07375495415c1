"""The two local embedders side by side on both question sets (decision 0015).

    .venv/bin/python -m bench.local_embedders [--embedders local,onnx-minilm] [--sets sample,transfer] [--json]

For each embedder (HELPDESK_EMBEDDER) and set it runs what a user runs, in a temporary HELPDESK_HOME:
`helpdesk ingest --source export:... --json` (wall time, which includes the gate's calibration refit) and
`helpdesk eval QUESTIONS --json` (recall@1/@5, MRR@10, AUROC, ticket rates, per-question latency p50/p95). On the
sample index it then runs one cold `helpdesk ask` in a new process (wall time and peak RSS) and prints the disk
size of what each embedder adds (its model folder and its extra's packages). Each figure is measured once: the
machine is shared, so run it when it is quiet and read latencies as rough.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.question_sets import LATENCY_ROWS, QUALITY_ROWS, SETS

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "ingest" / "embedders" / "models"
FOOTPRINT = {"local": ("minilm-l6-m2v", ("model2vec",)), "onnx-minilm": ("minilm-l6-onnx-int8", ("onnxruntime",))}
ASK = "How do I reset my Okta password?"
ROWS = (
    *QUALITY_ROWS,
    *LATENCY_ROWS,
    ("ingest (s)", "ingest_s", "{:.1f}"),
    ("cold ask (s)", "cold_ask_s", "{:.2f}"),
    ("cold ask RSS (MB)", "cold_ask_rss_mb", "{:.0f}"),
)


def _run(args: list[str], home: Path, embedder: str) -> tuple[str, float]:
    """stdout and wall seconds of one `helpdesk` process."""
    env = {**os.environ, "HELPDESK_HOME": str(home), "HELPDESK_EMBEDDER": embedder}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpdesk.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"helpdesk {' '.join(args[:2])} failed (exit {proc.returncode}): {err.strip()}")
    return out, wall


def _ask_rss(home: Path, index: Path, embedder: str) -> tuple[float, float]:
    """Cold `helpdesk ask`: a fresh interpreter that imports, loads the index and the model, answers once."""
    code = (
        "import resource, runpy, sys, time\n"
        "t = time.perf_counter()\n"
        f"sys.argv = ['helpdesk', 'ask', {ASK!r}, '--index', {str(index)!r}]\n"
        "try:\n    runpy.run_module('helpdesk.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('BENCH', time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    env = {**os.environ, "HELPDESK_HOME": str(home), "HELPDESK_EMBEDDER": embedder}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    line = [x for x in proc.stdout.splitlines() if x.startswith("BENCH ")]
    if not line:
        raise SystemExit(f"cold ask failed: {proc.stderr.strip()[-500:]}")
    return wall, float(line[-1].split()[2])


def measure(embedder: str, name: str) -> dict[str, Any]:
    export, questions = SETS[name]
    with tempfile.TemporaryDirectory(prefix=f"bench-{embedder}-{name}-") as tmp:
        home = Path(tmp)
        index = home / "index"
        _, ingest_s = _run(["ingest", "--source", f"export:{export}", "--index", str(index), "--json"], home, embedder)
        out, _ = _run(
            ["eval", str(questions), "--index", str(index), "--out", str(home / "r.jsonl"), "--json"], home, embedder
        )
        metrics = json.loads(out.strip().splitlines()[-1])
        metrics["ingest_s"] = ingest_s
        if name == "sample":
            metrics["cold_ask_s"], metrics["cold_ask_rss_mb"] = _ask_rss(home, index, embedder)
    return metrics


def _tree_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def footprint(embedder: str) -> str:
    model, packages = FOOTPRINT[embedder]
    parts = [f"model {_tree_mb(MODELS / model):.1f} MB"]
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            parts.append(f"{package} {_tree_mb(Path(spec.origin).parent):.1f} MB installed")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedders", default=",".join(FOOTPRINT), help=f"comma-separated, of {', '.join(FOOTPRINT)}")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)}")
    ap.add_argument("--json", action="store_true", help="print every figure as one JSON object")
    args = ap.parse_args(argv)
    embedders = [e.strip() for e in args.embedders.split(",") if e.strip()]
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    bad = [e for e in embedders if e not in FOOTPRINT] + [n for n in names if n not in SETS]
    if bad or not embedders or not names:
        ap.error(f"unknown embedder or set: {', '.join(bad) or '(none)'}")
    results = {f"{e}/{n}": measure(e, n) for e in embedders for n in names}
    if args.json:
        print(json.dumps({"results": results, "footprint": {e: footprint(e) for e in embedders}}))
        return 0
    cols = list(results)
    print(f"{'metric':22}" + "".join(f"{c:>24}" for c in cols))
    for label, key, fmt in ROWS:
        cells = [fmt.format(results[c][key]) if key in results[c] else "-" for c in cols]
        print(f"{label:22}" + "".join(f"{x:>24}" for x in cells))
    for e in embedders:
        print(f"{e}: {footprint(e)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
