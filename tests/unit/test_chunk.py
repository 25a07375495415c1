"""ingest.chunk: heading-aware chunking, ids and hashes."""

from __future__ import annotations

import hashlib

import pytest

from ingest.chunk import Chunk, chunk_page
from ingest.parse import ParsedPage, Section, parse_storage

CRUMBS = ("IT Help Center", "Network and Remote Access")


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def para(n: int, tag: str = "w") -> str:
    return f"<p>{words(n, tag)}.</p>"


def page(*sections: Section) -> ParsedPage:
    return ParsedPage(tuple(sections), ())


def chunks_of(xhtml: str, **kw: int) -> list[Chunk]:
    return chunk_page("100102", "VPN troubleshooting", CRUMBS, parse_storage(xhtml), **kw)


def test_one_chunk_per_section_with_heading_paths() -> None:
    xhtml = (
        para(50, "intro")
        + "<h1>Troubleshooting</h1>"
        + para(50, "gen")
        + "<h2>macOS</h2>"
        + para(50, "mac")
        + "<h3>Sonoma</h3>"
        + para(50, "son")
        + "<h2>Windows</h2>"
        + para(50, "win")
        + "<h1>Logs</h1>"
        + para(50, "log")
    )
    chunks = chunks_of(xhtml)
    assert [c.heading for c in chunks] == [
        "",
        "Troubleshooting",
        "Troubleshooting > macOS",
        "Troubleshooting > macOS > Sonoma",
        "Troubleshooting > Windows",
        "Logs",
    ]
    assert [c.ordinal for c in chunks] == list(range(6))
    assert chunks[2].body == words(50, "mac") + "."
    assert all(c.page_id == "100102" and c.title == "VPN troubleshooting" for c in chunks)


def test_heading_path_skipping_levels() -> None:
    parsed = page(Section("Setup", 2, (words(45),)), Section("Mac", 4, (words(45),)), Section("Top", 1, (words(45),)))
    assert [c.heading for c in chunk_page("1", "T", (), parsed)] == ["Setup", "Setup > Mac", "Top"]


def test_header_and_embed_text() -> None:
    chunk = chunks_of("<h2>Quick checks</h2>" + para(60))[0]
    assert chunk.breadcrumb == CRUMBS
    assert chunk.header == "IT Help Center > Network and Remote Access > VPN troubleshooting — Quick checks"
    assert chunk.embed_text == chunk.header + "\n" + chunk.body
    assert chunk.embed_text.startswith("IT Help Center > ")


def test_header_without_heading_or_breadcrumb() -> None:
    chunk = chunk_page("1", "Root page", [], page(Section("", 0, (words(50),))))[0]
    assert chunk.header == "Root page"
    assert chunk.breadcrumb == ()
    assert chunk.embed_text == "Root page\n" + words(50)


def test_hash_and_id_definitions() -> None:
    chunk = chunks_of("<h2>Steps</h2>" + para(60))[0]
    assert chunk.content_hash == hashlib.sha256(chunk.embed_text.encode()).hexdigest()
    expected = hashlib.sha256(f"100102\n0\n{chunk.embed_text}".encode()).hexdigest()[:32]
    assert chunk.chunk_id == expected
    assert len(chunk.chunk_id) == 32


def test_long_section_split_at_line_boundaries() -> None:
    xhtml = "<h2>Long</h2>" + "".join(para(30, f"p{i}x") for i in range(12))  # 12 lines x 31 words
    chunks = chunks_of(xhtml, max_words=100, min_words=10)
    assert len(chunks) >= 4
    assert all(c.heading == "Long" for c in chunks)
    assert all(len(c.body.split()) <= 100 for c in chunks)
    # no line was cut: every body line is one whole paragraph, and all of them are there in order
    lines = [line for c in chunks for line in c.body.split("\n")]
    assert lines == [words(30, f"p{i}x") + "." for i in range(12)]


def test_single_huge_paragraph_split_at_sentences() -> None:
    sentences = [f"Sentence {i} " + words(20, f"s{i}x") + "." for i in range(30)]  # 30 x 22 words
    chunks = chunks_of("<h2>Wall of text</h2><p>" + " ".join(sentences) + "</p>", max_words=100)
    assert len(chunks) >= 7
    assert all(len(c.body.split()) <= 130 for c in chunks)
    assert all(c.body.endswith(".") for c in chunks)  # cut at sentence ends
    assert " ".join(c.body for c in chunks).split() == " ".join(sentences).split()


def test_single_huge_token_run_split_at_whitespace() -> None:
    chunks = chunks_of("<p>" + words(1000) + "</p>", max_words=180)
    assert all(len(c.body.split()) <= 180 * 1.3 for c in chunks)
    assert " ".join(c.body for c in chunks).split() == words(1000).split()


def test_long_code_block_split_keeps_fence_on_every_piece() -> None:
    code = "\n".join(f"echo step {i} of the long script with several words" for i in range(80))
    xhtml = (
        '<h2>Script</h2><ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
        f"<ac:plain-text-body><![CDATA[{code}]]></ac:plain-text-body></ac:structured-macro>"
    )
    chunks = chunks_of(xhtml, max_words=120)
    assert len(chunks) >= 6
    assert all(len(c.body.split()) <= 120 * 1.3 for c in chunks)
    for c in chunks:
        assert c.body.startswith("```bash\n") and c.body.endswith("\n```")
    inner = [line for c in chunks for line in c.body.split("\n")[1:-1]]
    assert inner == code.split("\n")  # split at line boundaries, nothing lost or reordered


def test_long_warning_line_keeps_prefix_on_every_piece() -> None:
    body = " ".join(f"Do not do thing {i} ever again." for i in range(80))
    xhtml = '<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>' + body + "</p></ac:rich-text-body>"
    chunks = chunks_of(xhtml + "</ac:structured-macro>", max_words=60)
    assert len(chunks) >= 5
    assert all(c.body.startswith("Warning: ") for c in chunks)
    assert all(len(c.body.split()) <= 60 * 1.3 for c in chunks)


def test_small_sections_merge_forward() -> None:
    xhtml = (
        "<h2>Big</h2>"
        + para(60, "big")
        + "<h2>Printers</h2><h3>Mac</h3>"
        + para(10, "mac")
        + "<h3>Windows</h3>"
        + para(10, "win")
        + "<h3>Linux</h3>"
        + para(10, "lin")
        + "<h2>Tail</h2>"
        + para(60, "tail")
    )
    chunks = chunks_of(xhtml)
    assert [c.heading for c in chunks] == [
        "Big",
        "Printers > Mac / Printers > Windows / Printers > Linux",
        "Tail",
    ]
    merged = chunks[1].body.split("\n")
    assert merged == [
        "## Mac",
        words(10, "mac") + ".",
        "## Windows",
        words(10, "win") + ".",
        "## Linux",
        words(10, "lin") + ".",
    ]


def test_merging_stops_when_the_merged_chunk_would_not_fit() -> None:
    parsed = page(*(Section(f"S{i}", 2, (words(30, f"s{i}x"),)) for i in range(6)))
    chunks = chunk_page("1", "T", (), parsed, max_words=70, min_words=40)
    assert [c.heading for c in chunks] == ["S0 / S1", "S2 / S3", "S4 / S5"]
    assert all(len(c.body.split()) <= 70 for c in chunks)


def test_small_section_alone_between_big_ones_stays_alone() -> None:
    parsed = page(
        Section("A", 2, (words(50, "a"),)), Section("B", 2, (words(5, "b"),)), Section("C", 2, (words(50, "c"),))
    )
    chunks = chunk_page("1", "T", (), parsed)
    assert [(c.heading, c.body) for c in chunks] == [("A", words(50, "a")), ("B", words(5, "b")), ("C", words(50, "c"))]


def test_empty_pages_give_no_chunks() -> None:
    assert chunk_page("1", "T", CRUMBS, parse_storage("")) == []
    assert chunk_page("1", "T", CRUMBS, parse_storage("<h1>Only</h1><h2>headings</h2>")) == []
    assert chunk_page("1", "T", CRUMBS, page(Section("", 0, ("   ",)))) == []
    assert chunk_page("1", "T", CRUMBS, page()) == []


def test_deterministic_output_and_stable_ids() -> None:
    xhtml = "".join(f"<h2>Part {i}</h2>" + para(20 + 15 * i, f"p{i}x") for i in range(8))
    first = chunks_of(xhtml)
    second = chunks_of(xhtml)
    assert first == second
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)


def test_ids_and_hashes_change_when_text_changes() -> None:
    before = chunks_of("<h2>Steps</h2>" + para(60))[0]
    after = chunks_of("<h2>Steps</h2>" + para(60).replace("w7 ", "w7x "))[0]
    assert before.chunk_id != after.chunk_id
    assert before.content_hash != after.content_hash
    renamed = chunk_page("100102", "VPN help", CRUMBS, parse_storage("<h2>Steps</h2>" + para(60)))[0]
    assert renamed.content_hash != before.content_hash  # the title is part of what is embedded


def test_same_text_on_another_page_has_same_hash_but_different_id() -> None:
    parsed = parse_storage("<h2>Steps</h2>" + para(60))
    a = chunk_page("1", "T", CRUMBS, parsed)[0]
    b = chunk_page("2", "T", CRUMBS, parsed)[0]
    assert a.content_hash == b.content_hash
    assert a.chunk_id != b.chunk_id


def test_changing_one_section_only_changes_its_chunk() -> None:
    sections = [f"<h2>Section {i}</h2>" + para(70, f"s{i}x") for i in range(5)]
    before = chunks_of("".join(sections))
    sections[2] = "<h2>Section 2</h2>" + para(70, "edited")
    after = chunks_of("".join(sections))
    assert len(before) == len(after) == 5
    changed = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if b.content_hash != a.content_hash]
    assert changed == [2]
    assert [c.chunk_id for i, c in enumerate(before) if i != 2] == [c.chunk_id for i, c in enumerate(after) if i != 2]


def test_breadcrumb_accepts_any_sequence_and_is_stored_as_tuple() -> None:
    parsed = page(Section("", 0, (words(50),)))
    chunk = chunk_page("1", "T", ["Root", "Parent"], parsed)[0]
    assert chunk.breadcrumb == ("Root", "Parent")
    assert chunk.header == "Root > Parent > T"


def test_chunk_is_frozen() -> None:
    chunk = chunk_page("1", "T", (), page(Section("", 0, (words(50),))))[0]
    with pytest.raises(AttributeError):
        chunk.body = "x"  # type: ignore[misc]


def test_invalid_max_words() -> None:
    with pytest.raises(ValueError):
        chunk_page("1", "T", (), page(Section("", 0, ("x",))), max_words=0)
