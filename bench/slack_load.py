"""Load test of `helpdesk serve` on 127.0.0.1: concurrent signed events, with redeliveries mixed in.

    .venv/bin/python -m bench.slack_load [--events 50] [--unique 40] [--deadline 90]

It indexes the sample space into a temporary HELPDESK_HOME, starts a fake Slack Web API and the real
`helpdesk serve --port 0` process (extractive answerer, local SQLite dedupe store), and fires `--events` signed
requests at once: `--unique` app mentions, each in its own thread, plus redeliveries of some of them (the same
event_id with X-Slack-Retry-Num 1-3, re-signed as Slack does). It then waits, at most `--deadline` seconds, until
every unique mention has its answer, and one more second for stragglers, and reports: HTTP statuses (5xx must be
0), ack latency as the client saw it, the time until every question was answered, and answers per thread
(duplicates and missing must both be 0). Bounded in count (--events <= 500) and time (--deadline).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._slack import ROOT, SECRET, TOKEN, FakeSlackApi, event_body, json_event, percentile


def _post(url: str, event: dict) -> tuple[int, float]:
    req = urllib.request.Request(url, data=event["body"].encode(), headers=event["headers"], method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 599  # connection refused or reset: counted as a server failure
    return status, (time.perf_counter() - started) * 1000


def _index(home: Path) -> Path:
    from index_store.local import LocalIndexStore
    from ingest.embedders.local import StaticEmbedder
    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    location = home / "index"
    run_ingest(ExportSource(ROOT / "examples" / "it-space"), StaticEmbedder(), LocalIndexStore(location))
    return location


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--unique", type=int, default=40)
    parser.add_argument("--deadline", type=float, default=90.0)
    args = parser.parse_args()
    events_n = max(1, min(args.events, 500))
    unique_n = max(1, min(args.unique, events_n))
    questions = [json.loads(x)["question"] for x in (ROOT / "examples" / "it-space-questions.jsonl").open()]

    with tempfile.TemporaryDirectory() as tmp, FakeSlackApi() as fake:
        home = Path(tmp)
        index = _index(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HELPDESK_"))}
        env.update(
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_API_URL=fake.api_url,
            HELPDESK_HOME=str(home),
            HELPDESK_INDEX=str(index),
            PYTHONUNBUFFERED="1",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpdesk.cli", "serve", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = proc.stderr.readline()
            if "listening on" not in line:
                raise SystemExit(f"helpdesk serve did not start: {line}{proc.stderr.read()}")
            url = line.split("listening on ")[1].split()[0]
            bodies = []
            for i in range(unique_n):
                ts = f"{1700100000 + i}.000100"
                text = f"<@U0BOT0001> {questions[i % len(questions)]}"
                bodies.append(event_body("app_mention.json", event_id=f"EvLOAD{i:05d}", text=text, ts=ts))
            plan = [(b, None) for b in bodies]
            for j in range(events_n - unique_n):  # redeliveries of the first few, as Slack retries them
                plan.append((bodies[j % unique_n], 1 + j % 3))
            requests = [json_event(b, retry=r) for b, r in plan]  # signed now, each with its own timestamp

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=len(requests)) as pool:
                results = list(pool.map(lambda e: _post(url, e), requests))
            acked = time.perf_counter()

            expected = {b["event"]["ts"] for b in bodies}

            def answered() -> Counter:
                return Counter(m.get("thread_ts") for m in fake.bot_messages("C0HELP001") if m.get("edited"))

            deadline = started + args.deadline
            while time.perf_counter() < deadline and not expected <= set(answered()):
                time.sleep(0.05)
            all_answered = time.perf_counter()
            time.sleep(1.0)  # any duplicate would show up now
            counts = answered()
            posts = Counter(c.params.get("thread_ts") for c in fake.calls("chat.postMessage"))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    statuses = Counter(s for s, _ in results)
    latencies = [ms for _, ms in results]
    report = {
        "events": len(requests),
        "unique": unique_n,
        "redeliveries": len(requests) - unique_n,
        "statuses": dict(sorted(statuses.items())),
        "http_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "ack_p50_ms": round(percentile(latencies, 50), 1),
        "ack_p99_ms": round(percentile(latencies, 99), 1),
        "ack_max_ms": round(max(latencies), 1),
        "all_acked_s": round(acked - started, 2),
        "all_answered_s": round(all_answered - started, 2),
        "answered": sum(1 for t in expected if counts.get(t)),
        "missing": sum(1 for t in expected if not counts.get(t)),
        "duplicate_answers": sum(max(0, n - 1) for n in posts.values()),
    }
    print(
        f"{report['events']} concurrent signed events ({report['unique']} mentions + {report['redeliveries']} "
        f"redeliveries) -> statuses {report['statuses']}, 5xx {report['http_5xx']}\n"
        f"ack as seen by the client: p50 {report['ack_p50_ms']} ms, p99 {report['ack_p99_ms']} ms, "
        f"max {report['ack_max_ms']} ms; all acked in {report['all_acked_s']} s\n"
        f"answers: {report['answered']}/{report['unique']} in {report['all_answered_s']} s, "
        f"missing {report['missing']}, duplicates {report['duplicate_answers']}"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
