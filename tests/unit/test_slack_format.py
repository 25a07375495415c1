"""Block Kit formatting and escaping (pure)."""

from __future__ import annotations

import pytest

from assistant.slack import blocks as bk


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        ("<!channel> <!here> <!everyone>", "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;"),
        ("<!subteam^S123|@it> hi", "&lt;!subteam^S123|@it&gt; hi"),
        ("<@U123> and <#C1|general>", "&lt;@U123&gt; and &lt;#C1|general&gt;"),
        ("hey @channel, @Here and @everyone!", "hey @\u2060channel, @\u2060Here and @\u2060everyone!"),
        ("<https://evil.example|click me>", "&lt;https://evil.example|click me&gt;"),
        ("&lt;!channel&gt;", "&amp;lt;!channel&amp;gt;"),  # pre-escaped text cannot smuggle one in either
        ("email me@channels.example", "email me@channels.example"),
    ],
)
def test_escape_neutralises_pings_and_links(raw, safe):
    assert bk.escape(raw) == safe


def test_markdown_bold_and_headings_become_mrkdwn():
    assert bk.markdown_to_mrkdwn("## Steps\n**Open** the app") == "*Steps*\n*Open* the app"


def test_split_sections_respects_the_limit_and_boundaries():
    text = "\n\n".join(f"Paragraph {i} " + "word " * 150 for i in range(12))
    parts = bk.split_sections(text, 3000)
    assert all(len(p) <= 3000 for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    assert all(p.startswith("Paragraph") for p in parts)  # cut between paragraphs


def test_split_never_breaks_an_entity():
    text = "&amp;" * 1000  # no spaces at all
    parts = bk.split_sections(text, 3000)
    assert all(len(p) <= 3000 and p.endswith("&amp;") for p in parts)
    assert "".join(parts) == text


def test_long_answers_are_cut_with_a_pointer_to_the_sources():
    mrkdwn = bk.answer_mrkdwn("word " * 5000)
    assert len(mrkdwn) <= bk.MAX_ANSWER_CHARS
    assert mrkdwn.endswith("the sources below have the full details.)")


def test_answer_message_layout():
    sources = [
        {"title": "VPN | setup", "url": "https://wiki.example/p?a=1&b=2"},
        {"title": "<b>Bad</b>", "url": "javascript:alert(1)"},
    ]
    text, blocks = bk.answer_message("Use **GlobalProtect** [1].", sources, ref="r1")
    assert [b["type"] for b in blocks] == ["section", "context", "actions"]
    assert blocks[0]["text"]["text"] == "Use *GlobalProtect* [1]."
    links = [e["text"] for e in blocks[1]["elements"]]
    assert links == ["Sources:", "[1] <https://wiki.example/p?a=1&amp;b=2|VPN ¦ setup>", "[2] &lt;b&gt;Bad&lt;/b&gt;"]
    assert [e["value"] for e in blocks[2]["elements"]] == ["r1", "r1", "r1"]
    assert text == "Use *GlobalProtect* [1]."


def test_ticket_decision_shows_pages_and_a_resolve_button():
    _, blocks = bk.answer_message(
        "Ticket IT-1 opened", [{"title": "A", "url": "https://x"}], ref="r", decision="ticket", ticket_id="IT-1"
    )
    assert blocks[1]["elements"][0]["text"] == "Pages that might help:"
    assert blocks[-1]["elements"][0]["action_id"] == "helpdesk_resolve" and blocks[-1]["elements"][0]["value"] == "IT-1"


def test_at_most_nine_sources_fit_a_context_block():
    sources = [{"title": f"P{i}", "url": f"https://x/{i}"} for i in range(20)]
    assert len(bk.sources_block(sources)["elements"]) == 10


def test_resolved_blocks_replace_only_the_button():
    original = [{"type": "section", "text": {"type": "mrkdwn", "text": "t"}}, bk.resolve_actions("IT-1")]
    out = bk.resolved_blocks(original, "U1")
    assert out[0] == original[0] and out[1]["type"] == "context" and "<@U1>" in out[1]["elements"][0]["text"]


def test_manifest_matches_what_the_app_handles():
    from pathlib import Path

    import yaml

    from assistant.slack.app import COMMAND

    manifest = yaml.safe_load((Path(__file__).parents[2] / "docs" / "slack-app-manifest.yaml").read_text())
    settings, features = manifest["settings"], manifest["features"]
    assert set(settings["event_subscriptions"]["bot_events"]) >= {
        "app_mention",
        "app_home_opened",
        "message.im",
        "message.channels",
    }
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert settings["interactivity"]["is_enabled"] is True
    assert features["app_home"]["home_tab_enabled"] is True
    urls = {settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]}
    urls.add(features["slash_commands"][0]["url"])
    assert all(u.endswith("/slack/events") for u in urls)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {"app_mentions:read", "chat:write", "commands", "im:history", "channels:history", "users:read.email"}
    assert needed | {"usergroups:read"} <= scopes


def test_person_mentions_only_real_user_ids():
    assert bk.person("U0ALICE01") == "<@U0ALICE01>"
    assert bk.person("", "Mallory <!channel>") == "Mallory &lt;!channel&gt;"
    assert bk.person("alice") == "alice"
