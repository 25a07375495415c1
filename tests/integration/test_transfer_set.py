"""The transfer set (examples/transfer-m365): its export ingests cleanly and its question file fits it.

The export is the Microsoft 365 support articles converted by scripts/build_transfer_set.py; the questions are
examples/transfer-m365-questions.jsonl. Other work tunes retrieval and the gate against this set, so a broken page,
an expected page that is not there, or an uncovered question whose topic crept into the index would silently
skew every figure measured on it.
"""

import html
import json
import re
from pathlib import Path

import pytest
from support import EXAMPLES, HashEmbedder

from helpdesk.evaluation import check_gold_pages, read_questions
from index_store.local import LocalIndexStore
from ingest.pipeline import run_ingest
from ingest.sources.export import ExportSource

EXPORT = EXAMPLES / "transfer-m365"
QUESTIONS = EXAMPLES / "transfer-m365-questions.jsonl"
EXCLUDED_FAMILIES = (
    "Office/Client/activation/",
    "Microsoft365/admin/installation/",
    "Outlook/Client/data-files/",
    "Outlook/Client/calendaring/",
)
# Each uncovered question and a phrase of its topic, taken from the left-out article it was written against.
UNCOVERED_TOPICS = {
    "u001": "unlicensed product",
    "u002": "product deactivated",
    "u003": "activation limit",
    "u004": "aadsts9002313",
    "u005": "licensing token",
    "u006": "subscription expired",
    "u007": "usage report",
    "u008": "disabled this device",
    "u009": "allow editing on a mac",
    "u010": "isn't associated with this office product",
    "u011": "not been assigned an office license",
    "u012": "device-based licensing",
    "u013": "temporary server issues",
    "u014": "product key",
    "u015": "configuring stage",
    "u016": "30016-4",
    "u017": "30050-1039",
    "u018": "error 12",
    "u019": "multiple office versions",
    "u020": "perpetual",
    "u021": "icons are blank",
    "u022": "skype for business 2016",
    "u023": "powershell.exe",
    "u024": "folder assistant",
    "u025": "wan link",
    "u026": "background save",
    "u027": "location of the .ost",
    "u028": "autoarchive",
    "u029": "attachments are saved",
    "u030": "date filter",
    "u031": "0x8000ffff",
    "u032": "non-local drive",
    "u033": "share your calendar",
    "u034": "send update",
    "u035": "room finder",
    "u036": "google calendar",
    "u037": "daylight saving",
    "u038": "delete calendar items",
    "u039": "duplicate meeting requests",
    "u040": "location list",
    "u041": "working hours",
    "u042": "holiday",
    "u043": "internet calendar",
    "u044": "calcheck",
    "u045": "unlicensed",
    "u046": "meeting tracking",
}


@pytest.fixture(scope="module")
def source() -> ExportSource:
    src = ExportSource(EXPORT)
    src.pages()
    return src


@pytest.fixture(scope="module")
def pages(source: ExportSource) -> dict:
    return {p.page_id: p for p in source.pages()}


@pytest.fixture(scope="module")
def bundle(source: ExportSource, tmp_path_factory: pytest.TempPathFactory):
    store = LocalIndexStore(tmp_path_factory.mktemp("transfer") / "index")
    run_ingest(ExportSource(EXPORT), HashEmbedder(), store)
    return store.load()


def articles() -> dict[str, str]:
    """page id -> source path, for the converted articles (not the home and family pages)."""
    lines = (EXPORT / "pages.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {line.split("\t")[0]: line.split("\t")[2] for line in lines}


def test_the_export_reads_without_warnings(source: ExportSource, pages: dict) -> None:
    assert len(pages) == 248 and len(articles()) == 235 and set(articles()) < set(pages)
    assert source.report.warnings == [] and source.report.objects_skipped == 0
    assert {p.space_key for p in pages.values()} == {"M365"}
    assert all(p.url.startswith("https://contoso-it.atlassian.net/wiki/spaces/M365/pages/") for p in pages.values())
    assert all(len(pages[pid].ancestors) == 2 for pid in articles())


def test_every_page_becomes_chunks_and_the_markup_becomes_text(bundle, pages: dict) -> None:
    chunked = {c.page_id for c in bundle.chunks}
    assert chunked == set(pages), f"pages without chunks: {sorted(set(pages) - chunked)[:5]}"
    text = "\n".join(c.body for c in bundle.chunks)
    for raw in ("<ac:", "ri:page", "ri:attachment", "CDATA", ":::image", "[!NOTE]", "[!INCLUDE", "{%", "](", "&amp;"):
        assert raw not in text, raw
    assert text.count("Info: ") >= 100 and text.count("Note: ") >= 30 and text.count("Warning: ") >= 5
    assert text.count("```") >= 100 and text.count("[image: ") >= 100
    metered = "\n".join(c.body for c in bundle.chunks if c.page_id == "460819646")  # an IMPORTANT callout
    assert "Note: Follow the steps in this section carefully." in metered
    assert "[image: Screenshot shows the Metered Connection Warning" in metered


def test_internal_links_point_at_pages_of_the_export(pages: dict) -> None:
    titles = {p.title for p in pages.values()}
    linked = {html.unescape(t) for p in pages.values() for t in re.findall(r'ri:content-title="([^"]*)"', p.body)}
    assert len(linked) >= 20 and linked <= titles, sorted(linked - titles)


def test_the_question_file_fits_the_export(pages: dict) -> None:
    questions = read_questions(str(QUESTIONS))
    check_gold_pages(questions, set(pages))
    rows = questions.rows
    assert all(set(r) == {"id", "question", "gold_page_ids"} for r in rows)
    covered = [r for r in rows if r["gold_page_ids"]]
    uncovered = [r for r in rows if r["gold_page_ids"] == []]
    assert len(rows) >= 150 and len(uncovered) >= 40 and len(covered) + len(uncovered) == len(rows)
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(set(r["gold_page_ids"]) <= set(articles()) for r in covered)  # articles, not family pages
    assert sum(len(r["question"].split()) <= 2 for r in rows) >= 5
    assert sum(len(r["question"].split()) >= 30 for r in rows) >= 2


def test_uncovered_topics_are_not_in_the_index(pages: dict) -> None:
    assert not [path for path in articles().values() if path.startswith(EXCLUDED_FAMILIES)]
    uncovered = {r["id"] for r in read_questions(str(QUESTIONS)).rows if r["gold_page_ids"] == []}
    assert uncovered == set(UNCOVERED_TOPICS)
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", p.title + " " + p.body)) for p in pages.values())
    words = " ".join(words.lower().split())
    found = {qid: term for qid, term in UNCOVERED_TOPICS.items() if term in words}
    assert not found, f"uncovered topics present in the export: {found}"


def test_the_export_is_small_enough_to_ship() -> None:
    size = sum(f.stat().st_size for f in Path(EXPORT).iterdir())
    assert size < 4_000_000
    first = json.loads((EXPORT / "content-001.json").read_text(encoding="utf-8"))
    assert first["size"] == 25 and first["_links"]["next"].startswith("/rest/api/content?spaceKey=M365")
