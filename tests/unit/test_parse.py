"""ingest.parse: Confluence storage format -> sections of structured text lines."""

from __future__ import annotations

import pytest

from ingest.parse import ParsedPage, Section, parse_storage


def lines_of(xhtml: str) -> list[str]:
    """All lines of all sections, in order."""
    return [line for s in parse_storage(xhtml).sections for line in s.lines]


def macro(name: str, body: str, **params: str) -> str:
    ps = "".join(f'<ac:parameter ac:name="{k}">{v}</ac:parameter>' for k, v in params.items())
    return (
        f'<ac:structured-macro ac:name="{name}" ac:schema-version="1" ac:macro-id="3f2a">{ps}'
        f"<ac:rich-text-body>{body}</ac:rich-text-body></ac:structured-macro>"
    )


# --- paragraphs, inline markup, entities -------------------------------------------------------------------


def test_paragraph_whitespace_and_inline_markup() -> None:
    page = parse_storage(
        "<p>Connect to   the <strong>GlobalProtect</strong>\n VPN with <code>vpn.northwind-labs.com</code>"
        ' and see <a href="https://northwind.atlassian.net/servicedesk">the IT portal</a>.</p>'
        "<p>Second paragraph.</p>"
    )
    assert page.warnings == ()
    assert page.sections == (
        Section(
            "",
            0,
            (
                "Connect to the GlobalProtect VPN with vpn.northwind-labs.com and see the IT portal.",
                "Second paragraph.",
            ),
        ),
    )


def test_entities_are_decoded_and_nbsp_collapsed() -> None:
    page = parse_storage("<p>London&nbsp;HQ &ndash; floors&nbsp;3&#8211;5 &amp; Berlin &lt;office&gt; &copy;</p>")
    assert page.sections[0].lines == ("London HQ – floors 3–5 & Berlin <office> ©",)
    assert page.warnings == ()


def test_br_emoticon_and_time() -> None:
    got = lines_of('<p>Line one<br/>line two <ac:emoticon ac:name="warning" /> due <time datetime="2025-03-31" />.</p>')
    assert got == ["Line one line two due 2025-03-31."]


# --- headings and sections -----------------------------------------------------------------------------------


def test_headings_start_sections_with_levels_and_preamble() -> None:
    page = parse_storage(
        "<p>Intro text.</p><h1>Troubleshooting</h1><p>General.</p>"
        "<h2>macOS</h2><p>Mac steps.</p><h3>Big Sur</h3><p>Old OS.</p><h2>Windows</h2><p>Win steps.</p>"
    )
    assert [(s.heading, s.level, s.lines) for s in page.sections] == [
        ("", 0, ("Intro text.",)),
        ("Troubleshooting", 1, ("General.",)),
        ("macOS", 2, ("Mac steps.",)),
        ("Big Sur", 3, ("Old OS.",)),
        ("Windows", 2, ("Win steps.",)),
    ]


def test_empty_sections_are_dropped() -> None:
    page = parse_storage(
        "<p>&nbsp;</p><h2>Empty leaf</h2><h2>Filled</h2><p>Text.</p><h3>Empty child</h3><h2>&nbsp;</h2>"
        "<h2>Last</h2><p>End.</p><h3>Trailing empty</h3>"
    )
    assert [(s.heading, s.lines) for s in page.sections] == [("Filled", ("Text.",)), ("Last", ("End.",))]


def test_empty_parent_heading_is_kept_for_heading_paths() -> None:
    page = parse_storage("<h2>Troubleshooting</h2><h3>macOS</h3><p>Mac.</p><h2>Empty</h2><h3>Also empty</h3>")
    assert [(s.heading, s.level, s.lines) for s in page.sections] == [
        ("Troubleshooting", 2, ()),
        ("macOS", 3, ("Mac.",)),
    ]


def test_page_with_only_headings_keeps_them() -> None:
    page = parse_storage("<h1>Title only</h1><h2>Sub</h2>")
    assert [(s.heading, s.level, s.lines) for s in page.sections] == [("Title only", 1, ()), ("Sub", 2, ())]


def test_headings_inside_layouts_and_macros_start_sections() -> None:
    page = parse_storage(
        '<ac:layout><ac:layout-section ac:type="two_equal"><ac:layout-cell><h2>Email</h2><p>Outlook.</p>'
        "</ac:layout-cell><ac:layout-cell>"
        + macro("expand", "<h3>Hidden</h3><p>Inside.</p>", title="More")
        + "</ac:layout-cell></ac:layout-section></ac:layout>"
    )
    assert [(s.heading, s.lines) for s in page.sections] == [
        ("Email", ("Outlook.",)),
        ("Hidden", ("Expand (More): Inside.",)),
    ]


def test_text_renders_headings_and_blank_lines() -> None:
    page = parse_storage("<p>Intro.</p><h2>Steps</h2><ol><li>One</li><li>Two</li></ol>")
    assert page.text() == "Intro.\n\n## Steps\n1. One\n2. Two"


# --- lists and tasks ------------------------------------------------------------------------------------------


def test_unordered_ordered_and_nested_lists() -> None:
    got = lines_of(
        "<ul><li>Okta<ul><li>Verify push</li><li>FastPass<ol><li>Open app</li><li>Add account</li></ol></li>"
        "</ul></li><li><p>1Password</p></li></ul><ol><li>First</li><li>Second</li></ol>"
    )
    assert got == [
        "- Okta",
        "  - Verify push",
        "  - FastPass",
        "    1. Open app",
        "    2. Add account",
        "- 1Password",
        "1. First",
        "2. Second",
    ]


def test_task_list_status() -> None:
    got = lines_of(
        "<ac:task-list>"
        "<ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete</ac:task-status>"
        "<ac:task-body>Return the <strong>laptop</strong></ac:task-body></ac:task>"
        "<ac:task><ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        '<ac:task-body>Hand in badge <ac:link><ri:user ri:account-id="5b10ac8d82e05b22cc7d4ef5" />'
        "</ac:link></ac:task-body></ac:task>"
        "</ac:task-list>"
    )
    assert got == ["[x] Return the laptop", "[ ] Hand in badge"]


# --- tables ---------------------------------------------------------------------------------------------------


def test_table_rows_with_header_and_flattened_cells() -> None:
    got = lines_of(
        "<table><colgroup><col /><col /></colgroup><tbody>"
        "<tr><th><p>Gateway</p></th><th>Use when</th></tr>"
        "<tr><td>lon-gw</td><td><p>UK staff</p><ul><li>London labs</li><li>Default</li></ul></td></tr>"
        "<tr><td>fra-gw</td><td>Berlin &amp; EU</td></tr>"
        "</tbody></table>"
    )
    assert got == [
        "| Gateway | Use when |",
        "| lon-gw | UK staff; London labs; Default |",
        "| fra-gw | Berlin & EU |",
    ]


def test_table_cell_pipe_is_escaped_and_empty_rows_dropped() -> None:
    got = lines_of("<table><tbody><tr><td>a|b</td><td></td></tr><tr><td> </td></tr></tbody></table>")
    assert got == ["| a\\|b |  |"]


# --- macros ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [("info", "Info"), ("note", "Note"), ("warning", "Warning"), ("tip", "Tip")])
def test_callout_macros_prefix_every_line(name: str, kind: str) -> None:
    page = parse_storage(macro(name, "<p>First para.</p><ul><li>Step</li></ul><p>Last.</p>"))
    assert page.sections[0].lines == (f"{kind}: First para.", f"{kind}: - Step", f"{kind}: Last.")
    assert page.warnings == ()


def test_callout_title_becomes_first_line() -> None:
    got = lines_of(macro("warning", "<p>Call +44 20 7946 0999.</p>", title="Security emergency?"))
    assert got == ["Warning: Security emergency?", "Warning: Call +44 20 7946 0999."]


def test_panel_with_and_without_title() -> None:
    assert lines_of(macro("panel", "<p>Ask in #it-help.</p>", title="Need help now?", bgColor="#eae6ff")) == [
        "Panel (Need help now?): Ask in #it-help."
    ]
    assert lines_of(macro("panel", "<p>Plain.</p>")) == ["Panel: Plain."]


def test_expand_macro() -> None:
    got = lines_of(macro("expand", "<p>SMS is switched off.</p><p>Use a YubiKey.</p>", title="Why no SMS?"))
    assert got == ["Expand (Why no SMS?): SMS is switched off.", "Expand (Why no SMS?): Use a YubiKey."]


def test_nested_callouts_stack_prefixes() -> None:
    got = lines_of(macro("expand", macro("note", "<p>Inner.</p>"), title="Details"))
    assert got == ["Expand (Details): Note: Inner."]


def test_code_macro_is_one_fenced_line_with_language() -> None:
    page = parse_storage(
        "<p>Run:</p>"
        '<ac:structured-macro ac:name="code" ac:schema-version="1">'
        '<ac:parameter ac:name="language">bash</ac:parameter><ac:parameter ac:name="linenumbers">true</ac:parameter>'
        "<ac:plain-text-body><![CDATA[sudo launchctl unload /Library/x.plist\n"
        'if [ "$a" -lt 3 ] && echo "<ok>"; then\n  echo done\nfi\n]]></ac:plain-text-body>'
        "</ac:structured-macro>"
    )
    assert page.sections[0].lines == (
        "Run:",
        '```bash\nsudo launchctl unload /Library/x.plist\nif [ "$a" -lt 3 ] && echo "<ok>"; then\n  echo done\nfi\n```',
    )
    assert page.warnings == ()


def test_code_macro_without_language() -> None:
    got = lines_of(
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[ipconfig /flushdns]]>'
        "</ac:plain-text-body></ac:structured-macro>"
    )
    assert got == ["```\nipconfig /flushdns\n```"]


def test_known_bodiless_macros_dropped_silently() -> None:
    page = parse_storage(
        '<ac:structured-macro ac:name="toc" ac:schema-version="1"><ac:parameter ac:name="maxLevel">2'
        '</ac:parameter></ac:structured-macro><ac:structured-macro ac:name="children" />'
        '<p><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">top</ac:parameter>'
        "</ac:structured-macro>Body text.</p>"
    )
    assert page.sections[0].lines == ("Body text.",)
    assert page.warnings == ()


def test_unknown_macro_with_body_keeps_text_and_warns() -> None:
    page = parse_storage(macro("fancy-box", "<p>Keep me.</p>", colour="red"))
    assert page.sections[0].lines == ("Keep me.",)
    assert page.warnings == ("unknown macro 'fancy-box'",)


def test_unknown_bodiless_macro_dropped_with_warning() -> None:
    page = parse_storage(
        '<p>Before.</p><ac:structured-macro ac:name="jira-chart"><ac:parameter ac:name="jql">x</ac:parameter>'
        "</ac:structured-macro><p>After.</p>"
    )
    assert page.sections[0].lines == ("Before.", "After.")
    assert page.warnings == ("unknown macro 'jira-chart'",)


def test_inline_status_macro_keeps_title() -> None:
    got = lines_of(
        '<p>State: <ac:structured-macro ac:name="status"><ac:parameter ac:name="colour">Green'
        '</ac:parameter><ac:parameter ac:name="title">DONE</ac:parameter></ac:structured-macro> today</p>'
    )
    assert got == ["State: DONE today"]


# --- links, images, layouts -----------------------------------------------------------------------------------


def test_page_links_use_body_or_title_and_user_links_drop() -> None:
    got = lines_of(
        '<p>See <ac:link><ri:page ri:content-title="VPN troubleshooting" /><ac:plain-text-link-body>'
        "<![CDATA[the VPN guide]]></ac:plain-text-link-body></ac:link>, "
        '<ac:link><ri:page ri:content-title="Password policy" ri:space-key="IT" /></ac:link> and '
        '<ac:link><ri:page ri:content-title="Booking rooms" /><ac:link-body><strong>rooms</strong>'
        '</ac:link-body></ac:link>. Ask <ac:link><ri:user ri:account-id="557058:1a2b" /></ac:link>'
        '<ac:link><ri:user ri:username="jdoe" /><ac:plain-text-link-body><![CDATA[@Jane]]>'
        "</ac:plain-text-link-body></ac:link>now.</p>"
    )
    assert got == ["See the VPN guide, Password policy and rooms. Ask now."]


def test_images_keep_alt_or_title_only() -> None:
    got = lines_of(
        '<p>Before</p><ac:image ac:alt="GlobalProtect connected" ac:width="400">'
        '<ri:attachment ri:filename="gp.png" /></ac:image>'
        '<ac:image ac:title="Printer panel"><ri:attachment ri:filename="p.png" /></ac:image>'
        '<ac:image><ri:attachment ri:filename="noalt.png" /></ac:image>'
        '<p><img src="https://example.com/x.png" alt="Floor 3 map" /> after</p>'
    )
    assert got == [
        "Before",
        "[image: GlobalProtect connected]",
        "[image: Printer panel]",
        "[image: Floor 3 map]",
        "after",
    ]


def test_layout_cells_flatten_in_order() -> None:
    got = lines_of(
        '<ac:layout><ac:layout-section ac:type="two_equal"><ac:layout-cell><p>Left A</p><p>Left B</p>'
        "</ac:layout-cell><ac:layout-cell><ul><li>Right</li></ul></ac:layout-cell></ac:layout-section>"
        '<ac:layout-section ac:type="single"><ac:layout-cell><p>Bottom</p></ac:layout-cell>'
        "</ac:layout-section></ac:layout>"
    )
    assert got == ["Left A", "Left B", "- Right", "Bottom"]


# --- broken markup --------------------------------------------------------------------------------------------


def test_non_str_raises_type_error() -> None:
    with pytest.raises(TypeError):
        parse_storage(b"<p>bytes</p>")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_storage(None)  # type: ignore[arg-type]


def test_empty_string() -> None:
    page = parse_storage("")
    assert page == ParsedPage((), ("empty document",))
    assert page.text() == ""
    assert parse_storage("  \n ").sections == ()


def test_body_that_is_just_text() -> None:
    page = parse_storage("Restart the laptop and try again.")
    assert lines_of("Restart the laptop and try again.") == ["Restart the laptop and try again."]
    assert len(page.warnings) == 1 and "outside" in page.warnings[0]


def test_unclosed_tags() -> None:
    page = parse_storage("<p>First <strong>bold<p>Second<ul><li>one<li>two")
    assert lines_of("<p>First <strong>bold<p>Second<ul><li>one<li>two") == [
        "First bold",
        "Second",
        "- one",
        "- two",
    ]
    assert any("unclosed <p>" in w for w in page.warnings)
    assert any("unclosed <li>" in w for w in page.warnings)
    assert any("end of document" in w for w in page.warnings)


def test_stray_end_tags() -> None:
    page = parse_storage("<p>a</p></p><p>b</div></p>")
    assert page.sections[0].lines == ("a", "b")
    assert "stray end tag </p>" in page.warnings
    assert "stray end tag </div>" in page.warnings


def test_mismatched_nesting() -> None:
    page = parse_storage("<p><strong><em>bold italic</strong></em> tail</p><p>next</p>")
    assert page.sections[0].lines == ("bold italic tail", "next")
    assert any(w.startswith("mismatched nesting") for w in page.warnings)


def test_bare_ampersand_and_unknown_entity() -> None:
    page = parse_storage("<p>Tom & Jerry R&D &bogus;</p>")
    assert page.sections[0].lines == ("Tom & Jerry R&D &bogus;",)
    assert "unescaped '&' in text" in page.warnings
    assert "unknown entity '&bogus;'" in page.warnings


def test_unterminated_cdata_keeps_code_and_following_markup() -> None:
    page = parse_storage(
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
        "<ac:plain-text-body><![CDATA[echo hi\necho bye</ac:plain-text-body></ac:structured-macro>"
        "<p>After the code.</p>"
    )
    assert page.sections[0].lines == ("```bash\necho hi\necho bye\n```", "After the code.")
    assert page.warnings == ("unterminated CDATA section",)


def test_unterminated_cdata_at_end_of_page() -> None:
    page = parse_storage('<p>Run</p><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[ls -la')
    assert page.sections[0].lines == ("Run", "```\nls -la\n```")
    assert "unterminated CDATA section" in page.warnings


def test_truncated_page_keeps_text() -> None:
    page = parse_storage('<h2>Setup</h2><p>Install the agent, then <a href="https://exa')
    assert [(s.heading, s.lines) for s in page.sections] == [("Setup", ("Install the agent, then",))]
    assert "truncated tag at end of document" in page.warnings


def test_non_xhtml_junk() -> None:
    junk = (
        '<?xml version="1.0"?><!DOCTYPE html><<>> %% <blink>flash</blink> <p>ok a < b</p>'
        "<![if !supportLists]>1.<![endif]><font>x</font><!-- comment --><script>alert(1)</script>"
    )
    page = parse_storage(junk)
    text = page.text()
    assert "flash" in text and "ok a < b" in text and "1." in text
    assert "alert" not in text and "comment" not in text and "supportLists" not in text
    for needle in ("processing instruction", "declaration", "unknown element <blink>", "<script>"):
        assert any(needle in w for w in page.warnings), needle


def test_absurd_nesting_falls_back_to_text() -> None:
    page = parse_storage("<div>" * 5000 + "deep text")
    assert page.sections[0].lines[-1].endswith("deep text")
    assert page.warnings


def test_warnings_are_deduplicated() -> None:
    page = parse_storage("<p>a</p></p></p></p>")
    assert page.warnings == ("stray end tag </p>",)


def test_well_formed_page_has_no_warnings() -> None:
    page = parse_storage(
        "<h1>VPN</h1><p>Use <strong>GlobalProtect</strong>.</p>"
        + macro("info", "<p>Only for internal systems.</p>")
        + "<ac:task-list><ac:task><ac:task-status>incomplete</ac:task-status><ac:task-body>Install</ac:task-body>"
        "</ac:task></ac:task-list>"
    )
    assert page.warnings == ()
    assert page.sections[0].lines == ("Use GlobalProtect.", "Info: Only for internal systems.", "[ ] Install")
