"""Import time and memory of the two ways to call Titan: boto3 `invoke_model` vs langchain-aws `BedrockEmbeddings`.

    .venv/bin/python -m bench.embedder_client [--runs 5]

Each variant runs in a fresh interpreter (what a Lambda cold start pays): wall time of the process and peak RSS,
the median of N runs, with an empty interpreter as the baseline. No network call is made.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

VARIANTS = {
    "python (baseline)": "pass",
    "boto3 bedrock-runtime client": "import boto3; boto3.client('bedrock-runtime', region_name='us-east-1')",
    "ingest.embedders.bedrock (boto3)": ("from ingest.embedders.bedrock import TitanEmbedder; TitanEmbedder().client"),
    "langchain-aws BedrockEmbeddings": (
        "from langchain_aws import BedrockEmbeddings; "
        "BedrockEmbeddings(model_id='amazon.titan-embed-text-v2:0', region_name='us-east-1')"
    ),
}
PROBE = "import resource, sys; {code}; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "PATH": ""}
    print(f"{'variant':36} {'process time':>13} {'peak RSS':>10}")
    for name, code in VARIANTS.items():
        times, rss = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", PROBE.format(code=code)], capture_output=True, text=True, env=env, check=True
            )
            times.append(time.perf_counter() - started)
            rss.append(int(out.stdout.strip()) / 1024)
        print(f"{name:36} {statistics.median(times):11.2f} s {statistics.median(rss):7.0f} MB")


if __name__ == "__main__":
    main()
