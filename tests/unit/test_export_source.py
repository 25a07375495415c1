import json
from pathlib import Path

import pytest
from support import page_object, write_export

from ingest.exceptions import SourceError
from ingest.sources.export import ExportSource, page_from_content


def test_page_url_is_base_plus_webui_and_ancestors_root_first(tmp_path: Path) -> None:
    obj = page_object("42", "VPN", "<p>x</p>", ancestors=["IT Help Center", "Network"], labels=["vpn"])
    write_export(tmp_path / "e", [obj])
    (page,) = ExportSource(tmp_path / "e").pages()
    assert page.url == "https://wiki.example.test/wiki/spaces/TST/pages/42"
    assert page.ancestors == ("IT Help Center", "Network")
    assert page.labels == ("vpn",)
    assert page.version == 1


def test_single_content_object_file_uses_its_own_base(tmp_path: Path) -> None:
    obj = page_object("7", "Printers", "<p>Print</p>")
    (tmp_path / "one.json").write_text(json.dumps(obj))
    (page,) = ExportSource(tmp_path).pages()
    assert page.page_id == "7" and page.url.endswith("/spaces/TST/pages/7")


def test_missing_and_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        ExportSource(tmp_path / "nope").page_ids()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"no \*\.json"):
        ExportSource(tmp_path / "empty").page_ids()


def test_non_json_and_non_page_objects_are_skipped_and_counted(tmp_path: Path) -> None:
    write_export(tmp_path, [page_object("1", "A", "<p>a</p>")])
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "blog.json").write_text(json.dumps({"id": "9", "type": "blogpost", "title": "News"}))
    (tmp_path / "list.json").write_text(json.dumps([1, 2, 3]))
    source = ExportSource(tmp_path)
    assert source.page_ids() == {"1"}
    assert source.report.files_skipped == 1
    assert source.report.objects_skipped == 2
    assert any("broken.json" in w and "not valid JSON" in w for w in source.report.warnings)


def test_same_page_twice_keeps_highest_version(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(page_object("5", "Old", "<p>old</p>", version=3)))
    (tmp_path / "b.json").write_text(json.dumps(page_object("5", "New", "<p>new</p>", version=7)))
    (tmp_path / "c.json").write_text(json.dumps(page_object("5", "Older", "<p>older</p>", version=1)))
    source = ExportSource(tmp_path)
    (page,) = source.pages()
    assert (page.version, page.title) == (7, "New")
    assert source.report.duplicates == 2


def test_page_from_content_rejects_non_pages() -> None:
    assert page_from_content({"type": "comment", "id": "1"}) is None
    assert page_from_content({"type": "page"}) is None
    assert page_from_content("nope") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "patch",
    [
        {"version": 3},
        {"body": "<p>x</p>"},
        {"_links": "x"},
        {"space": "IT"},
        {"restrictions": {"read": "x"}},
        {"ancestors": "Root"},
        {"metadata": {"labels": ["a"]}},
        {"body": {"storage": {"value": 42}}},
    ],
)
def test_fields_of_the_wrong_type_count_as_absent(tmp_path: Path, patch: dict) -> None:
    obj = {**page_object("8", "Odd", "<p>odd</p>"), **patch}
    (tmp_path / "odd.json").write_text(json.dumps(obj))
    (page,) = ExportSource(tmp_path).pages()
    assert page.page_id == "8" and page.title == "Odd"
