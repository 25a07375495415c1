"""Run every benchmark in turn and print their figures (`make bench`). Asserts nothing.

    .venv/bin/python -m bench.run_all [--quick] [--only NAME,NAME]

Each benchmark runs in its own process, with its own TMPDIR (removed afterwards), at its default sizes (the
issues' figures); `--quick` passes smaller sizes where a benchmark takes them, for a fast look. Expect about 15
minutes in full on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

# (module, quick arguments): grouped by issue.
BENCHES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("--pages", "2000", "--queries", "100")),
    ("retrieval_ablation", ()),
    ("tune_retrieval", ("--quick",)),
    ("calibrate_confidence", ()),
    ("answer_overhead", ("--chunks", "20000", "--repeat", "1")),
    ("converse_cold_start", ("--runs", "2")),
    ("confluence_incremental", ("--pages", "2000")),
    ("titan_throughput", ("--pages", "200")),
    ("index_types", ("--chunks", "20000")),
    ("index_s3", ("--chunks", "20000")),
    ("index_format", ("--pages", "2000")),
    ("lexical_weights", ()),
    ("index_recall", ()),
    ("kb_gate", ()),
    ("question_sets", ()),
    ("gate_features", ()),
    ("local_embedders", ("--sets", "sample")),
    ("embedder_client", ("--runs", "2")),
    ("slack_ack", ("--events", "200")),
    ("slack_import", ("--runs", "3")),
    ("slack_load", ()),
    ("fault_burst", ("--questions", "40", "--outage-scale", "0.02")),
    ("tickets", ("--creates", "100")),
    ("lambda_memory", ("--pages", "500")),
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes where a benchmark takes them")
    ap.add_argument("--only", default="", help="comma-separated benchmark names")
    args = ap.parse_args()
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    failed = []
    for name, quick in BENCHES:
        if only and name not in only:
            continue
        print(f"\n===== bench.{name} {' '.join(quick) if args.quick else ''}".rstrip(), flush=True)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"helpdesk-bench-{name}-") as tmp:  # every temporary file goes
            env = {**os.environ, "TMPDIR": tmp}
            rc = subprocess.call([sys.executable, "-m", f"bench.{name}", *(quick if args.quick else ())], env=env)
        print(f"----- bench.{name}: exit {rc}, {time.perf_counter() - started:.1f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"\nfailed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
