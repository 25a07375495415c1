"""Build the bundled sample export (examples/it-space/*.json) from its sources (examples/it-space-src/).

The sources are the page tree (`pages.json`) and one storage-format body per page (`bodies/<id>.xhtml`), all
written for this project. The output has the exact shape of Confluence Cloud REST API v1 pages of results for
`GET /rest/api/content?spaceKey=IT&type=page&expand=body.storage,version,ancestors,space,metadata.labels`, in pages
of 25 linked by `_links.next`. Deterministic: re-running it produces identical files.

    python scripts/build_sample_space.py
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "examples" / "it-space-src"
OUT = ROOT / "examples" / "it-space"
BASE = "https://northwind.atlassian.net/wiki"
SPACE = {
    "id": 98304,
    "key": "IT",
    "name": "IT Help Center",
    "type": "global",
    "status": "current",
    "_links": {"webui": "/spaces/IT", "self": f"{BASE}/rest/api/space/IT"},
}
PAGE_SIZE = 25
QUERY = "spaceKey=IT&type=page&expand=body.storage,version,ancestors,space,metadata.labels"


def content_object(page: dict, by_id: dict[str, dict], index: int) -> dict:
    pid = page["id"]
    ancestors = []
    parent = page["parent"]
    while parent:
        ancestors.insert(0, by_id[parent])
        parent = by_id[parent]["parent"]
    when = datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(days=3 * index, hours=index % 7)
    number = 1 + (int(pid) * 7 + index) % 9
    return {
        "id": pid,
        "type": "page",
        "status": "current",
        "title": page["title"],
        "space": SPACE,
        "version": {
            "by": {"type": "known", "accountId": "557058:it-team", "displayName": "Northwind IT"},
            "when": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "number": number,
            "minorEdit": False,
        },
        "ancestors": [
            {
                "id": a["id"],
                "type": "page",
                "status": "current",
                "title": a["title"],
                "_links": {"webui": f"/spaces/IT/pages/{a['id']}/{quote_plus(a['title'])}"},
            }
            for a in ancestors
        ],
        "body": {
            "storage": {
                "value": (SRC / "bodies" / f"{pid}.xhtml").read_text(encoding="utf-8").strip(),
                "representation": "storage",
            }
        },
        "metadata": {
            "labels": {
                "results": [
                    {"prefix": "global", "name": n, "id": str(900000 + i)} for i, n in enumerate(page["labels"])
                ],
                "start": 0,
                "limit": 200,
                "size": len(page["labels"]),
            }
        },
        "extensions": {"position": index},
        "_links": {
            "webui": f"/spaces/IT/pages/{pid}/{quote_plus(page['title'])}",
            "edituiv2": f"/spaces/IT/pages/edit-v2/{pid}",
            "tinyui": f"/x/{pid[-4:]}",
            "self": f"{BASE}/rest/api/content/{pid}",
        },
    }


def main() -> None:
    pages = json.loads((SRC / "pages.json").read_text(encoding="utf-8"))
    by_id = {p["id"]: p for p in pages}
    objects = [content_object(p, by_id, i) for i, p in enumerate(pages)]
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for n, start in enumerate(range(0, len(objects), PAGE_SIZE)):
        batch = objects[start : start + PAGE_SIZE]
        links = {"base": BASE, "context": "/wiki", "self": f"{BASE}/rest/api/content?{QUERY}&start={start}"}
        if start + PAGE_SIZE < len(objects):
            links["next"] = f"/rest/api/content?{QUERY}&limit={PAGE_SIZE}&start={start + PAGE_SIZE}"
        doc = {"results": batch, "start": start, "limit": PAGE_SIZE, "size": len(batch), "_links": links}
        (OUT / f"content-{n + 1:03d}.json").write_text(
            json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    questions = []
    for part in sorted(SRC.glob("questions-*.jsonl")):
        questions.extend(json.loads(line) for line in part.read_text(encoding="utf-8").splitlines() if line.strip())
    (ROOT / "examples" / "it-space-questions.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8"
    )
    print(f"wrote {len(objects)} pages to {OUT} and {len(questions)} questions")


if __name__ == "__main__":
    main()
