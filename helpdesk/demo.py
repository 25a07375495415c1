"""`make demo`: index the bundled sample space and answer a few questions, all on this machine."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from core.errors import HelpdeskError
from helpdesk.cli import format_answer
from helpdesk.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "examples" / "it-space"
QUESTIONS = (
    "My VPN keeps disconnecting every few minutes when I work from home. What should I try?",
    "I got a new phone, how do I move my Okta Verify MFA to it?",
    "How do I book a meeting room in the London office?",
    "How do I increase my pension contributions?",  # not covered by the space: opens a ticket
)


def main() -> int:
    from assistant.tickets.desk import Requester
    from helpdesk.factory import build_assistant, build_embedder, build_index_store
    from ingest.pipeline import IngestOptions, run_ingest
    from ingest.sources.export import ExportSource

    settings = Settings.from_env()
    print(f"== Building the index from the sample space ({EXPORT.relative_to(ROOT)})")
    started = time.perf_counter()
    embedder = build_embedder(settings)
    summary = run_ingest(
        ExportSource(EXPORT),
        embedder,
        build_index_store(settings),
        IngestOptions.from_config(settings.ingest, index_type=settings.index.index_type),
    )
    print(
        f"   {summary.pages_seen} pages, {summary.pages_skipped} excluded, {summary.chunks_total} chunks "
        f"({summary.chunks_embedded} embedded, {summary.chunks_reused} reused) in "
        f"{time.perf_counter() - started:.1f}s -> {settings.index_location} (version {summary.index_version})\n"
    )
    assistant = build_assistant(settings, embedder=embedder)
    for n, question in enumerate(QUESTIONS, 1):
        print(f"== Question {n}: {question}")
        result = assistant.ask(question, requester=Requester(user_id="demo", name="Demo User"))
        print("   " + format_answer(result).replace("\n", "\n   ") + "\n")
    print(f"Tickets are in {settings.tickets_db}; emails to IT are in {settings.outbox}/")
    print('Try your own: .venv/bin/helpdesk ask "how do I connect to the guest wifi?"')
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HelpdeskError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
