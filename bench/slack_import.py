"""Cold import of the Slack entry point against bare Bolt + boto3 (the ack path's floor), in fresh interpreters.

    .venv/bin/python -m bench.slack_import [--runs 9]

For each statement it reports the median over `--runs` fresh processes of:
- `importtime`: from `python -X importtime -c "<statement>"`, the cumulative times of the statement's own
  top-level imports (slack_bolt + boto3, or handler), so interpreter start-up is left out;
- `wall`: `time.perf_counter()` around the statement inside the process (no -X importtime overhead).
The two statements are measured alternately, so load from other processes on the machine hits both alike; the
minimum is reported next to the median because it is the least disturbed by that load. Least sensitive to load is
the same-process figure: `import slack_bolt, boto3; import handler`, where -X importtime gives what `handler`
adds on top of the floor, and the ratio is (floor + extra) / floor within one process.
Then the cold first request: import handler, build the runtime from the environment (env secrets, local SQLite
dedupe store, a recording Lambda client) and ack one signed mention; and which heavy modules were loaded by then.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

from bench._slack import ROOT, SECRET, TOKEN

STATEMENTS = {
    "bolt+boto3": ("import slack_bolt, boto3", ("slack_bolt", "boto3")),
    "handler": ("import handler", ("handler",)),
}
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")

FIRST_REQUEST = """
import json, sys, time
t0 = time.perf_counter()
import handler
t1 = time.perf_counter()
sys.path.insert(0, {tests!r})
from fakes.slack_requests import event_body, json_event
from helpdesk import slack_lambda as aws
from helpdesk.slack_runtime import build_runtime
from helpdesk.settings import Settings

class Lam:
    def invoke(self, **kw):
        return {{"StatusCode": 202}}

class Ctx:
    function_name = "f"
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:f"
    aws_request_id = "req-1"
    memory_limit_in_mb = 512

event = json_event(event_body("app_mention.json"))
t2 = time.perf_counter()
aws.set_runtime(build_runtime(Settings.from_env(), lambda_client=Lam()))
status = handler.lambda_handler(event, Ctx())["statusCode"]
t3 = time.perf_counter()
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"numpy", "faiss", "langchain", "langchain_aws",
              "langchain_core", "model2vec", "tqdm", "atlassian"}})
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "build_and_first_ack_ms": (t3 - t2) * 1000, "status": status,
                  "heavy": heavy, "modules": len(sys.modules)}}))
"""


def _env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HELPDESK_"))}
    env.update(SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=TOKEN, HELPDESK_HOME=home, AWS_DEFAULT_REGION="us-east-1")
    return env


def importtime_ms(statement: str, modules: tuple[str, ...], env: dict[str, str]) -> tuple[float, list]:
    """(ms of the statement's own top-level imports, [(ms, name)] of every module `import` pulled in)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], cwd=ROOT, env=env, capture_output=True, text=True
    )
    total, rows = 0, []
    for line in out.stderr.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        rows.append((int(m.group(2)) / 1000, m.group(4), len(m.group(3))))
        if len(m.group(3)) == 1 and m.group(4) in modules:  # a top-level import the statement made
            total += int(m.group(2))
    return total / 1000, rows


def wall_ms(statement: str, env: dict[str, str]) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = _env(home)
        samples: dict[str, dict[str, list[float]]] = {k: {"it": [], "wall": []} for k in STATEMENTS}
        for _ in range(args.runs):
            for name, (statement, modules) in STATEMENTS.items():
                samples[name]["it"].append(importtime_ms(statement, modules, env)[0])
                samples[name]["wall"].append(wall_ms(statement, env))
        results = {
            name: {
                "importtime_ms": round(statistics.median(v["it"]), 1),
                "importtime_min_ms": round(min(v["it"]), 1),
                "wall_ms": round(statistics.median(v["wall"]), 1),
                "wall_min_ms": round(min(v["wall"]), 1),
            }
            for name, v in samples.items()
        }
        _, rows = importtime_ms("import handler", ("handler",), env)
        same = []
        for _ in range(args.runs):
            both = "import slack_bolt, boto3; import handler"
            _, both_rows = importtime_ms(both, (), env)
            top = {name: ms for ms, name, depth in both_rows if depth == 1}
            same.append((top.get("slack_bolt", 0.0) + top.get("boto3", 0.0), top.get("handler", 0.0)))
        firsts = []
        for _ in range(args.runs):
            code = FIRST_REQUEST.format(tests=str(ROOT / "tests"))
            out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr)
            firsts.append(json.loads(out.stdout.strip().splitlines()[-1]))
    bolt, handler = results["bolt+boto3"], results["handler"]
    print(f"{'statement':28} {'importtime med':>14} {'min':>7} {'wall med':>9} {'min':>7}   (ms, {args.runs} runs)")
    for name, (statement, _) in STATEMENTS.items():
        r = results[name]
        print(
            f"{statement:28} {r['importtime_ms']:>14.1f} {r['importtime_min_ms']:>7.1f} {r['wall_ms']:>9.1f} "
            f"{r['wall_min_ms']:>7.1f}"
        )
    ratios = {
        "importtime_median": round(handler["importtime_ms"] / bolt["importtime_ms"], 2),
        "importtime_min": round(handler["importtime_min_ms"] / bolt["importtime_min_ms"], 2),
        "wall_median": round(handler["wall_ms"] / bolt["wall_ms"], 2),
        "wall_min": round(handler["wall_min_ms"] / bolt["wall_min_ms"], 2),
    }
    print("ratio handler / (bolt+boto3):", ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()), "(goal <= 1.5x)")
    same_ratios = [(f + e) / f for f, e in same]
    ratios["same_process_median"] = round(statistics.median(same_ratios), 2)
    extra_ms = round(statistics.median(e for _, e in same), 1)
    print(
        f"same process: handler adds {extra_ms} ms (median) to bolt+boto3's "
        f"{statistics.median(f for f, _ in same):.1f} ms: ratio {ratios['same_process_median']:.2f}x"
    )
    first = {
        "import_ms": round(statistics.median(f["import_ms"] for f in firsts), 1),
        "build_and_first_ack_ms": round(statistics.median(f["build_and_first_ack_ms"] for f in firsts), 1),
        "status": firsts[0]["status"],
        "heavy_modules_loaded": firsts[0]["heavy"],
    }
    print(
        f"cold first request: import {first['import_ms']} ms + build runtime and ack {first['build_and_first_ack_ms']}"
        f" ms (status {first['status']}); heavy modules loaded: {first['heavy_modules_loaded'] or 'none'}"
    )
    seen: dict[str, float] = {}
    for t, n, _ in rows:  # a package's cumulative time where it is first imported
        if n.split(".")[0] in ("slack_bolt", "slack_sdk", "boto3", "botocore", "aws_lambda_powertools", "sqlite3"):
            seen.setdefault(n.split(".")[0], t) if n.count(".") == 0 else None
    print("under handler, first imports of:", ", ".join(f"{n} {t:.0f} ms" for n, t in seen.items()))
    print(json.dumps({"statements": results, "ratios": ratios, "cold_first_request": first}))


if __name__ == "__main__":
    main()
