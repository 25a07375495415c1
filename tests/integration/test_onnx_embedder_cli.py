"""`helpdesk ingest` and `ask` with the default embedder (the int8 transformer, HELPDESK_EMBEDDER unset or
onnx-minilm), as a user runs them (real subprocesses)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from support import ROOT, page_object, write_export

PAGES = [
    (
        "1",
        "Resetting your Okta password",
        "<p>Open the Okta sign-in page, choose Forgot password and follow the email.</p>",
    ),
    ("2", "Connecting to the guest wifi", "<p>Visitors join the Northwind-Guest network with the daily code.</p>"),
    ("3", "Adding a network printer", "<p>Open Settings, Printers, Add, and pick the printer on your floor.</p>"),
    ("4", "Expense reports", "<p>Submit receipts in the finance portal before the fifth of the month.</p>"),
]


def run(args: list[str], home: Path, embedder: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HELPDESK_EMBEDDER"} | {"HELPDESK_HOME": str(home)}
    if embedder is not None:
        env["HELPDESK_EMBEDDER"] = embedder
    return subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def test_ingest_and_ask_use_the_transformer_embedder_by_default(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export", [page_object(p, t, b) for p, t, b in PAGES])
    ingest = run(["ingest", "--source", f"export:{export}", "--json"], tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout.strip().splitlines()[-1])["chunks_embedded"] >= 4
    ask = run(["ask", "I forgot my Okta password, how do I get back in?"], tmp_path)
    assert ask.returncode == 0, ask.stderr
    sources = [line for line in ask.stdout.splitlines() if line.strip().startswith("[1]")]
    assert sources and "Resetting your Okta password" in sources[0], ask.stdout
    assert "decision: answer" in ask.stdout, ask.stdout
    uncovered = run(["ask", "How do I book a meeting room in the London office?"], tmp_path)
    assert uncovered.returncode == 0 and "decision: ticket" in uncovered.stdout, uncovered.stdout
    static = run(["ask", "I forgot my Okta password"], tmp_path, embedder="local")
    assert static.returncode != 0 and "onnx/minilm-l6-onnx-int8@" in static.stderr
