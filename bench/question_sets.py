"""Every eval figure on both question sets, side by side: the bundled sample space and the transfer set.

    .venv/bin/python -m bench.question_sets [--sets sample,transfer] [--misses N] [--json]

For each set it runs what a user runs, in a temporary HELPDESK_HOME: `helpdesk ingest --source export:...` into a
fresh index, then `helpdesk eval QUESTIONS --json` with the settings of the environment (the local embedder and the
extractive answerer by default). It prints one table: recall@1, recall@5, MRR@10, AUROC, uncovered->ticket,
covered->ticket and the per-question latency p50/p95 (retrieval + gate + answer, wall time, as `eval` measures
it). The sample set is what the gate and retrieval were tuned on; the transfer set (examples/transfer-m365,
Microsoft 365 support articles) never was, so the gap between the columns is how far the tuning transfers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "sample": (ROOT / "examples" / "it-space", ROOT / "examples" / "it-space-questions.jsonl"),
    "transfer": (ROOT / "examples" / "transfer-m365", ROOT / "examples" / "transfer-m365-questions.jsonl"),
}
# (label, key in `helpdesk eval --json`, format): the retrieval and gate figures every comparison prints
QUALITY_ROWS = (
    ("recall@1", "recall_at_1", "{:.3f}"),
    ("recall@5", "recall_at_5", "{:.3f}"),
    ("MRR@10", "mrr_at_10", "{:.3f}"),
    ("AUROC", "auroc", "{:.3f}"),
    ("uncovered -> ticket", "uncovered_ticket_rate", "{:.3f}"),
    ("covered -> ticket", "covered_ticket_rate", "{:.3f}"),
)
LATENCY_ROWS = (("latency p50 (ms)", "latency_p50_ms", "{:.1f}"), ("latency p95 (ms)", "latency_p95_ms", "{:.1f}"))
ROWS = (
    *QUALITY_ROWS,
    ("cited page expected", "cited_correct", "{:.3f}"),
    *LATENCY_ROWS,
    ("questions", "questions", "{}"),
    ("covered / uncovered", None, ""),
)


def collected(
    collect: Callable[[str, Any, Path], T], *, load: str | None, dump: str | None, prefix: str
) -> dict[str, T]:
    """`collect(name, settings, tmp)` for the sample and the transfer set, or what a `--load` file holds instead;
    written to the `--dump` file when one is named."""
    if load:
        data: dict[str, T] = json.loads(Path(load).read_text())
    else:
        from helpdesk.settings import Settings

        settings = Settings.from_env()
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            data = {name: collect(name, settings, Path(tmp)) for name in ("sample", "transfer")}
    if dump:
        Path(dump).write_text(json.dumps(data))
    return data


def _helpdesk(args: list[str], home: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HELPDESK_HOME": str(home)},
    )
    if proc.returncode:
        raise SystemExit(f"helpdesk {' '.join(args[:2])} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def evaluate(name: str, misses: int) -> dict[str, Any]:
    export, questions = SETS[name]
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        home = Path(tmp)
        index = home / "index"
        _helpdesk(["ingest", "--source", f"export:{export}", "--index", str(index), "--json"], home)
        extra = ["--misses", str(misses)] if misses else []
        out = _helpdesk(
            ["eval", str(questions), "--index", str(index), "--out", str(home / "results.jsonl"), "--json", *extra],
            home,
        )
    return json.loads(out.strip().splitlines()[-1])


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    names = list(results)
    lines = [f"{'metric':22}" + "".join(f"{n:>12}" for n in names)]
    for label, key, fmt in ROWS:
        if key is None:
            cells = [f"{results[n]['covered']} / {results[n]['uncovered']}" for n in names]
        else:
            cells = [fmt.format(results[n][key]) if key in results[n] else "-" for n in names]
        lines.append(f"{label:22}" + "".join(f"{c:>12}" for c in cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)}")
    ap.add_argument("--misses", type=int, default=0, help="also print each set's N worst misses")
    ap.add_argument("--json", action="store_true", help="print the metrics of each set as one JSON object")
    args = ap.parse_args(argv)
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown or not names:
        ap.error(f"--sets: unknown set {', '.join(unknown) or '(none)'}; choose from {', '.join(SETS)}")
    results = {name: evaluate(name, args.misses) for name in names}
    if args.json:
        print(json.dumps(results))
        return 0
    print("\n".join(table(results)))
    for name, metrics in results.items():
        for m in metrics.get("misses", []):
            print(f"{name} {m['id']}: {m['why']}; top {', '.join(m['top_page_ids'])}: {m['question'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
