"""Build the Lambda package offline (no Docker, no AWS) and print its size; optionally smoke-test it.

    .venv/bin/python cdk/build_bundle.py                      # arm64, Python 3.13 -> cdk/.bundle/arm64-py3.13
    .venv/bin/python cdk/build_bundle.py --arch x86_64 --python 3.12
    .venv/bin/python cdk/build_bundle.py --smoke /path/to/python3.13

`--smoke PYTHON` also builds the same package for this machine's architecture (x86_64) and runs it with PYTHON (of
the runtime's version, isolated from its site-packages): it imports every entry point and the answer path, creates
each boto3 client the code uses, indexes the sample space and answers a question, and prints the peak RSS.
The arm64 wheels cannot run here, but the trimming and the pure-Python parts are the same.

A prebuilt folder can be deployed as is: `cdk deploy -c bundle=cdk/.bundle/arm64-py3.13`.
Wheels come from PyPI (or uv's cache); nothing else touches the network.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpdesk_cdk.lambda_package import ROOT, PackageError, build_package

SMOKE = r"""
import json, resource, sys, tempfile, time
t0 = time.perf_counter()
import handler
from slack_bolt import App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
import boto3
ack_s = time.perf_counter() - t0
ack_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for service in ("s3", "dynamodb", "bedrock-runtime", "bedrock-agent-runtime", "secretsmanager", "sesv2", "lambda",
                "sts", "ssm", "bedrock"):
    boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
import faiss, numpy, wrapt
from atlassian import Confluence
from aws_lambda_powertools import Logger, Metrics
import helpdesk.factory, helpdesk.settings, assistant.service, assistant.retrieval, index_store.format
import ingest.pipeline, ingest.sources.export
answer_imports_s = time.perf_counter() - t0
answer_imports_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.path.insert(0, sys.argv[2])
from support import HashEmbedder
from helpdesk.settings import Settings
from helpdesk.factory import build_assistant
from index_store.local import LocalIndexStore
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource
from assistant.service import Requester
tmp = tempfile.mkdtemp()
emb = HashEmbedder(dimension=256)
run_ingest(ExportSource(sys.argv[1]), emb, LocalIndexStore(tmp + "/index"))
s = Settings.from_env({"HELPDESK_HOME": tmp, "HELPDESK_INDEX": tmp + "/index"})
bot = build_assistant(s, with_tickets=False, embedder=emb)
r = bot.ask("How do I reset my password?", requester=Requester(user_id="U1", name="Smoke"))
assert r.answer and r.decision in ("answer", "ticket"), r
print(json.dumps({"python": sys.version.split()[0], "faiss": faiss.__version__, "numpy": numpy.__version__,
                  "ack_imports_s": round(ack_s, 2), "ack_imports_rss_mb": round(ack_rss / 1024, 1),
                  "answer_imports_s": round(answer_imports_s, 2),
                  "answer_imports_rss_mb": round(answer_imports_rss / 1024, 1),
                  "after_answer_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "decision": r.decision}))
"""


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def build(arch: str, python: str, out: Path, python_exe: str, force: bool, bytecode: str = "all") -> None:
    if out.exists():
        if not force:
            raise PackageError(f"{out} exists; pass --force to rebuild it")
        shutil.rmtree(out)
    started = time.perf_counter()
    report = build_package(out, arch=arch, python=python, python_exe=python_exe, bytecode=bytecode)
    print(f"== {arch} / Python {python} -> {out} ({time.perf_counter() - started:.1f} s)")
    print(f"   unzipped: {_mb(report.unzipped)} (Lambda limit 250 MB, goal <= 150 MB)")
    print(f"   zipped:   {_mb(report.zipped)}")
    print(f"   bytecode: {report.bytecode}")
    print("   trimmed:  " + ", ".join(f"{k} {_mb(v)}" for k, v in sorted(report.trimmed.items())))
    print("   largest:  " + ", ".join(f"{name} {_mb(size)}" for name, size in report.largest))


def smoke(python: str, python_exe: str, force: bool, bytecode: str) -> None:
    host = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
    out = ROOT / "cdk" / ".bundle" / f"smoke-{host}-py{python}"
    build(host, python, out, python_exe, force=True, bytecode=bytecode)
    cmd = [python_exe, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(out)!r}); exec({SMOKE!r})",
           str(ROOT / "examples" / "it-space"), str(ROOT / "tests")]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
    if done.returncode != 0:
        raise PackageError(f"smoke test failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"== smoke test with {python_exe}: {json.dumps(result)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=("arm64", "x86_64"), default="arm64")
    parser.add_argument("--python", choices=("3.12", "3.13", "3.14"), default="3.13")
    parser.add_argument("--out", type=Path, help="output folder (default cdk/.bundle/<arch>-py<version>)")
    parser.add_argument("--bytecode-python", default="", help="interpreter of the runtime's version for bytecode")
    parser.add_argument("--bytecode", choices=("all", "ack", "none"), default="all",
                        help="precompile everything (default), only the Slack ack path, or nothing")  # fmt: skip
    parser.add_argument("--smoke", metavar="PYTHON", default="", help="also build for this machine and run it")
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "cdk" / ".bundle" / f"{args.arch}-py{args.python}"
    try:
        build(args.arch, args.python, out, args.bytecode_python or args.smoke, args.force, args.bytecode)
        if args.smoke:
            smoke(args.python, args.smoke, args.force, args.bytecode)
    except PackageError as exc:
        print(f"build_bundle: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
