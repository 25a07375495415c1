"""Incremental ingest against the Confluence fake: Confluence calls and embedding calls per run.

    .venv/bin/python -m bench.confluence_incremental [--pages 20000] [--spaces 1]

Builds a space of N pages (three sections, so three chunks each; one modification every 30 minutes of fake
time), ingests it once in full, then measures, with the real atlassian-python-api client and the real pipeline
(local index, a counting hash embedder):

1. an unchanged re-ingest (incremental listing, no sweep due);
2. an unchanged re-ingest when the daily deletion sweep is due (full id listing, no bodies);
3. one page changed (one section edited), and one page deleted with the sweep;
and prints Confluence requests by endpoint, embedding calls, and the goal `listing calls <= pages/100 + spaces`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.confluence import ConfluenceFake  # noqa: E402
from support import HashEmbedder  # noqa: E402

from index_store.local import LocalIndexStore  # noqa: E402
from ingest.pipeline import IngestOptions, run_ingest  # noqa: E402
from ingest.sources.confluence import ConfluenceSource  # noqa: E402
from ingest.sources.confluence_http import ConfluenceHTTP  # noqa: E402

WORDS = (
    "access account laptop vpn printer password reset portal request team drive email phone badge wifi network "
    "install update restart login token approve manager ticket install software license folder share backup"
).split()


def body(i: int, extra: str = "") -> str:
    """Three sections of ~50 words: three chunks per page."""
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(150)]
    return (
        f"<h2>Overview</h2><p>Page {i}: {' '.join(words[:50])}.</p>"
        f"<h2>Steps</h2><p>For resource {i}: {' '.join(words[50:100])}.{extra}</p>"
        f"<h2>Troubleshooting</h2><p>If resource {i} fails: {' '.join(words[100:])}.</p>"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=20_000)
    ap.add_argument("--spaces", type=int, default=1)
    args = ap.parse_args()
    keys = [f"S{n}" for n in range(args.spaces)]
    fake = ConfluenceFake(step=timedelta(minutes=30)).start()
    t = time.perf_counter()
    for i in range(args.pages):
        fake.add_page(str(100_000 + i), f"Guide {i}", body(i), space=keys[i % len(keys)])
    print(f"fake Confluence: {args.pages} pages in {len(keys)} space(s), built in {time.perf_counter() - t:.1f}s")
    store = LocalIndexStore(Path(tempfile.mkdtemp(prefix="bench-incr-")) / "index")
    now = [datetime(2027, 6, 1, tzinfo=UTC)]

    def run(label: str, **options: object) -> None:
        before = len(fake.calls)
        emb = HashEmbedder()
        src = ConfluenceSource(ConfluenceHTTP(fake.url, user=fake.user, token=fake.token), keys)
        started = time.perf_counter()
        s = run_ingest(src, emb, store, IngestOptions(**options), now=lambda: now[0])
        took = time.perf_counter() - started
        calls = fake.calls[before:]
        search = sum(1 for p, q in calls if p.endswith("/content/search"))
        listing = sum(1 for p, q in calls if p.endswith("/content/search") and "body.storage" in q["expand"][0])
        ids = search - listing
        print(
            f"{label:38} {took:6.1f}s  confluence requests {len(calls):4} (page listing {listing}, id listing {ids})"
            f"  embedding calls {emb.texts_embedded:6}  pages listed {s.pages_seen:6}  changed {s.pages_changed}"
            f"  deleted {s.pages_deleted}  chunks {s.chunks_total}"
        )

    bound = args.pages / 100 + len(keys)
    run("1. first full ingest")
    now[0] += timedelta(hours=1)
    run("2. unchanged, incremental")
    now[0] += timedelta(hours=24)
    run("3. unchanged, deletion sweep due")
    fake.edit("100007", body=body(7, " Then wait five minutes."))
    now[0] += timedelta(hours=1)
    run("4. one page edited (1 of 3 sections)")
    fake.delete("100011")
    now[0] += timedelta(hours=24)
    run("5. one page deleted, sweep due")
    print(f"goal: 0 embedding calls when unchanged; listing calls <= pages/100 + spaces = {bound:.0f}")
    fake.stop()


if __name__ == "__main__":
    main()
