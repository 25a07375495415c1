"""Cold start of the two ways to call Converse: boto3 `bedrock-runtime.converse` vs langchain-aws ChatBedrockConverse.

    .venv/bin/python -m bench.converse_cold_start [--runs 5]

Each run is a fresh Python process that imports the client library, builds the client and makes one Converse call
(with the answer tool forced) to a local stand-in on 127.0.0.1 (reached through AWS_ENDPOINT_URL_BEDROCK_RUNTIME),
then reports import time, client construction, first call and peak RSS (the project's prompt module is imported
first and not timed, but it is in the RSS of both). Medians over --runs processes are printed.
This is what a Lambda cold start pays on top of the runtime's own start; the model's own latency is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "t1",
                        "name": "submit_answer",
                        "input": {"answer": "Restart it [1].", "used_sources": [1], "sufficient": True},
                    }
                }
            ],
        }
    },
    "stopReason": "tool_use",
    "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
    "metrics": {"latencyMs": 1},
}

COMMON = """
import json, resource, time, sys
from assistant.prompt import ANSWER_TOOL_SPEC  # the project's own part, not timed
t0 = time.perf_counter()
"""

BOTO3 = (
    COMMON
    + """
import boto3
from botocore.config import Config
t1 = time.perf_counter()
client = boto3.client("bedrock-runtime", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
t2 = time.perf_counter()
r = client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}],
    inferenceConfig={"maxTokens": 700, "temperature": 0.1},
    toolConfig={"tools": [dict(ANSWER_TOOL_SPEC)], "toolChoice": {"tool": {"name": "submit_answer"}}})
assert r["output"]["message"]["content"][0]["toolUse"]["input"]["answer"]
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "client": t2 - t1, "call": t3 - t2,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
)

LANGCHAIN = (
    COMMON
    + """
from langchain_aws import ChatBedrockConverse
t1 = time.perf_counter()
spec = ANSWER_TOOL_SPEC["toolSpec"]
tool = {"name": spec["name"], "description": spec["description"], "parameters": spec["inputSchema"]["json"]}
llm = ChatBedrockConverse(model=MODEL, temperature=0.1, max_tokens=700).bind_tools([tool], tool_choice="submit_answer")
t2 = time.perf_counter()
msg = llm.invoke([("user", "hi")])
assert msg.tool_calls[0]["args"]["answer"]
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "client": t2 - t1, "call": t3 - t2,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = json.dumps(REPLY).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{server.server_address[1]}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "LANGSMITH_TRACING": "false",
    }
    model = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    print(f"{args.runs} fresh processes each; medians (seconds, MB)")
    print("  client                             import  build  first call  total  peak RSS (whole process)")
    for name, code in (("boto3 converse", BOTO3), ("langchain-aws ChatBedrockConverse", LANGCHAIN)):
        runs = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, "-c", f"MODEL = {model!r}\n{code}"],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        total = med["import"] + med["client"] + med["call"]
        print(
            f"  {name:34} {med['import']:6.2f}  {med['client']:5.2f}  {med['call']:10.2f}  {total:5.2f}"
            f"  {med['rss_mb']:7.0f}"
        )
    server.shutdown()


if __name__ == "__main__":
    main()
