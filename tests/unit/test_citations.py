from assistant.citations import cited_numbers, drop_unknown_citations, renumber_citations, strip_citations


def test_cited_numbers_are_distinct_and_sorted() -> None:
    assert cited_numbers("see [3] and [1, 3] then [2,1]") == [1, 2, 3]
    assert cited_numbers("no markers, [x] or [ ] here") == []


def test_unknown_numbers_are_dropped_and_empty_markers_go_with_their_blank() -> None:
    assert drop_unknown_citations("Reset it [1, 7]. Then wait [9].", {1}) == "Reset it [1]. Then wait."


def test_renumber_keeps_unknown_numbers() -> None:
    assert renumber_citations("a [2], b [3, 5] c [9]", {2: 1, 3: 2, 5: 3}) == "a [1], b [2, 3] c [9]"


def test_strip_removes_every_marker() -> None:
    assert strip_citations("Use the VPN [1]. Then restart [2, 3].") == "Use the VPN. Then restart."
