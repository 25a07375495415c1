"""Peak memory (RSS) and wall time of what each Lambda does, measured in fresh processes on this machine.

    .venv/bin/python -m bench.lambda_memory [--pages 2000] [--python PATH --bundle DIR]

The figures size the Lambdas (docs/decisions/0010-lambda-sizing-and-packaging.md). Each scenario runs in its own
interpreter and reports `ru_maxrss`:

- import handler: the Lambda init of every function;
- ack path: Bolt's request handler and the boto3 clients the Slack ack needs (Secrets Manager, DynamoDB, Lambda);
- answer imports: the ack path plus FAISS, numpy and the assistant packages;
- answer, sample space / N-page space: load the published index and answer 10 questions (extractive answerer:
  on Lambda the model runs in Bedrock, so only its client counts here, and it is imported);
- ingest N pages: parse, chunk, embed (a hashing stand-in for Titan: on Lambda embeddings come over the network)
  and publish the index, as the scheduled ingest does on a full sweep;
- sweep path: boto3 plus the ticket and mail modules.

The local model2vec embedder is not used: Lambda embeds with Titan. `--bundle DIR --python PATH` runs the import
scenarios against a built Lambda package instead (cdk/build_bundle.py, an interpreter of the runtime's version).
Lambda adds its runtime client (~10-20 MB) on top of these numbers. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "it-space"
QUESTIONS = [
    "My VPN keeps disconnecting when I work from home",
    "How do I move Okta Verify to a new phone?",
    "How do I book a meeting room in London?",
    "The printer says my job is held, how do I release it?",
    "How do I connect to the guest wifi?",
    "How do I request a new laptop?",
    "I forgot my password",
    "How do I share a calendar?",
    "Is there a VPN for my phone?",
    "How do I increase my pension contributions?",
]

PRELUDE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
T0 = time.perf_counter()
def report(**extra):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({{"rss_mb": round(rss, 1), "seconds": round(time.perf_counter() - T0, 2), **extra}}))
"""

EMBEDDER = """
import hashlib
import numpy as np
class BenchEmbedder:
    embedder_id, dimension = "bench/hash-256", 256
    def _vec(self, text):
        v = np.zeros(self.dimension, dtype=np.float32)
        for w in text.lower().split():
            v[int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little") % self.dimension] += 1
        n = np.linalg.norm(v)
        return v / n if n else v
    def embed_documents(self, texts):
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, 256), np.float32)
    def embed_query(self, text):
        return self._vec(text)
"""

SCENARIOS = {
    "baseline (python -c pass)": "",
    "import handler": "import handler",
    "ack path": """
import handler, boto3
from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
for s in ("secretsmanager", "dynamodb", "lambda"):
    boto3.client(s, region_name="us-east-1")
""",
    "answer imports": """
import handler, boto3, faiss, numpy
from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
import assistant.service, assistant.retrieval, index_store.format, helpdesk.factory
for s in ("secretsmanager", "dynamodb", "lambda", "s3", "bedrock-runtime", "sesv2"):
    boto3.client(s, region_name="us-east-1")
""",
    "sweep path": """
import handler, boto3
import assistant.tickets.base, assistant.mail.compose, helpdesk.settings
for s in ("dynamodb", "sesv2"):
    boto3.client(s, region_name="us-east-1")
""",
}

ANSWER = """
import boto3
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from helpdesk.settings import Settings
from helpdesk.factory import build_assistant
from assistant.service import Requester
boto3.client("bedrock-runtime", region_name="us-east-1")
s = Settings.from_env({{"HELPDESK_HOME": {home!r}, "HELPDESK_INDEX": {index!r}}})
bot = build_assistant(s, with_tickets=False, embedder=BenchEmbedder())
decisions = [bot.ask(q, requester=Requester(user_id="U1")).decision for q in {questions!r}]
report(questions=len(decisions))
"""

INGEST = """
from index_store.local import LocalIndexStore
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource
summary = run_ingest(ExportSource({export!r}), BenchEmbedder(), LocalIndexStore({index!r}))
report(pages=summary.pages_seen, chunks=summary.chunks_total)
"""


def run(python: str, body: str, path: str = str(ROOT), isolated: bool = False) -> dict:
    code = textwrap.dedent(PRELUDE.format(root=path)) + textwrap.dedent(body) + "\nreport()" * ("report(" not in body)
    flags = ["-I", "-S"] if isolated else []  # a bundle: only the package and the standard library
    done = subprocess.run([python, *flags, "-c", code], capture_output=True, text=True, cwd="/" if isolated else ROOT)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def synthetic_export(folder: Path, pages: int) -> Path:
    """`pages` pages made from the sample space: copies with new ids and a distinct sentence each."""
    objects = []
    for doc in sorted(SAMPLE.glob("*.json")):
        objects.extend(json.loads(doc.read_text())["results"])
    out, n = [], 0
    while len(out) < pages:
        for obj in objects:
            if len(out) == pages:
                break
            copy = json.loads(json.dumps(obj))
            copy["id"] = str(500000 + n)
            copy["title"] = f"{obj['title']} ({n // len(objects) + 1})"
            copy["body"]["storage"]["value"] += f"<p>Revision note {n}: applies to site {n % 97} and team {n % 13}.</p>"
            out.append(copy)
            n += 1
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(out), 100):
        (folder / f"content-{i // 100:04d}.json").write_text(json.dumps({"results": out[i : i + 100]}))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="size of the synthetic space (default 2000)")
    parser.add_argument("--python", default=sys.executable, help="interpreter (with --bundle: the runtime's version)")
    parser.add_argument("--bundle", default="", help="run the import scenarios against this Lambda package")
    args = parser.parse_args(argv)
    rows: list[tuple[str, dict]] = []
    if args.bundle:
        for name, body in SCENARIOS.items():
            rows.append((f"{name} [bundle]", run(args.python, body, str(Path(args.bundle).resolve()), isolated=True)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for name, body in SCENARIOS.items():
                rows.append((name, run(args.python, body)))
            sample_index = f"{tmp}/sample-index"
            ingest_sample = EMBEDDER + INGEST.format(export=str(SAMPLE), index=sample_index)
            rows.append(("ingest sample space (49 pages)", run(args.python, ingest_sample)))
            rows.append(("answer 10 questions, sample space", run(args.python, EMBEDDER + ANSWER.format(
                home=tmp, index=sample_index, questions=QUESTIONS))))  # fmt: skip
            export = synthetic_export(Path(tmp) / "export", args.pages)
            big_index = f"{tmp}/big-index"
            rows.append((f"ingest {args.pages} pages (full)",
                         run(args.python, EMBEDDER + INGEST.format(export=str(export), index=big_index))))  # fmt: skip
            rows.append((f"answer 10 questions, {args.pages}-page space", run(args.python, EMBEDDER + ANSWER.format(
                home=tmp, index=big_index, questions=QUESTIONS))))  # fmt: skip
    print(f"Python {subprocess.run([args.python, '-V'], capture_output=True, text=True).stdout.strip()}, "
          f"{time.strftime('%Y-%m-%d')}; peak RSS per fresh process")  # fmt: skip
    print(f"{'scenario':44} {'peak RSS':>10} {'wall':>8}  notes")
    for name, r in rows:
        if "error" in r:
            print(f"{name:44} {'-':>10} {'-':>8}  error: {r['error']}")
            continue
        notes = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("rss_mb", "seconds") and v is not None)
        print(f"{name:44} {r['rss_mb']:>7.1f} MB {r['seconds']:>6.2f} s  {notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
