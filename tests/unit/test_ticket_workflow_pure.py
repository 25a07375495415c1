"""The workflow's pure parts: legacy statuses, the transition table, the draft page, the resolve modal's values."""

from __future__ import annotations

import pytest

from assistant.drafts import draft_page, draft_title, missing_setting, page_url
from assistant.exceptions import TicketError
from assistant.slack import blocks
from assistant.tickets.base import Ticket, normalise_status, status_spellings
from assistant.tickets.dynamodb import legacy_status_condition
from assistant.tickets.status import ACTIONS, TRANSITIONS, check_note


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("OPEN", "open"),
        (" In Progress ", "in_progress"),
        ("in-progress", "in_progress"),
        ("Resolved", "resolved"),
        (2, ""),
        ("done", ""),
        (None, ""),
        (["open"], ""),
    ],
)
def test_older_statuses_read_in_our_vocabulary(raw, status) -> None:
    assert normalise_status(raw) == status
    assert Ticket.from_dict({"ticket_id": "X", "status": raw}).status == status


def test_every_spelling_of_a_status_reads_back_as_it() -> None:
    for status in ("open", "in_progress"):
        spellings = status_spellings(status)
        assert spellings[0] == status
        assert {normalise_status(s) for s in spellings} == {status}
    assert "OPEN" in status_spellings("open") and "In Progress" in status_spellings("in_progress")


def test_the_verbs_only_make_moves_the_table_allows() -> None:
    assert ACTIONS == {"start": "in_progress", "resolve": "resolved", "close": "closed", "reopen": "open"}
    assert "resolved" not in TRANSITIONS["closed"] and TRANSITIONS["closed"] == ("open",)
    with pytest.raises(TicketError, match="at most 4000"):
        check_note("x" * 4001)


def test_a_legacy_status_is_conditioned_on_its_exact_stored_value() -> None:
    assert legacy_status_condition({"status": {"N": "2"}}, {"status": ("",)}) == {"status": {"N": "2"}}
    assert legacy_status_condition({"status": {"S": "OPEN"}}, {"status": ("open",)}) == {"status": {"S": "OPEN"}}
    assert legacy_status_condition({"status": {"S": "OPEN"}}, {"status": ("closed",)}) is None
    assert legacy_status_condition({"status": {"S": "open"}}, {"status": ("open",)}) is None  # ours: no retry


def test_the_draft_page_escapes_everything_and_names_the_ticket() -> None:
    t = Ticket(
        "IT-ABC",
        "Why <script>?",
        sources=[{"title": "A & B", "url": "javascript:alert(1)", "score": 0.5}],
        resolution_note="Line 1\nLine <2>",
    )
    title, body = draft_page(t)
    assert title == "Why <script>? (IT-ABC)" and "<script>" not in body and "Why &lt;script&gt;?" in body
    assert "Line 1<br />Line &lt;2&gt;" in body and "javascript:" not in body and "A &amp; B (score 0.50)" in body
    assert draft_title(Ticket("IT-1", "x" * 500)).endswith("… (IT-1)")


def test_missing_settings_are_named_and_urls_are_absolute() -> None:
    assert missing_setting("https://w", "t", "").startswith("HELPDESK_GAP_SPACE is not set")
    assert missing_setting("", "t", "KB").startswith("CONFLUENCE_URL is not set")
    assert missing_setting("https://w", "", "KB").startswith("CONFLUENCE_TOKEN is not set")
    assert missing_setting("https://w", "t", "KB") == ""
    assert (
        page_url({"id": "5", "_links": {"webui": "/x/5", "base": "https://w/wiki"}}, "https://o")
        == "https://w/wiki/x/5"
    )
    assert page_url({"id": "5"}, "https://o/wiki") == "https://o/wiki/pages/viewpage.action?pageId=5"


def test_the_modal_values_are_read_back() -> None:
    view = blocks.resolve_modal("IT-1", '{"t": "IT-1"}')
    assert view["callback_id"] == blocks.RESOLVE_MODAL and view["private_metadata"] == '{"t": "IT-1"}'
    state = {
        "values": {
            "helpdesk_note": {"note": {"value": "  Fixed it \n"}},
            "helpdesk_draft": {"draft": {"selected_options": [{"value": "draft"}]}},
        }
    }
    assert blocks.modal_values({"state": state}) == ("Fixed it", True)
    assert blocks.modal_values({}) == ("", False)


def test_a_token_kept_in_a_secret_is_read_on_the_first_draft_and_a_failed_read_is_a_draft_error() -> None:
    from assistant.drafts import ConfluenceDrafts, DraftError

    reads: list[str] = []

    def secret() -> tuple[str, str]:
        reads.append("read")
        raise RuntimeError("AccessDeniedException")

    drafts = ConfluenceDrafts("https://acme.atlassian.net/wiki", "KB", credentials=secret)
    assert reads == []  # nothing is read until a draft is asked for
    with pytest.raises(DraftError, match="cannot read the Confluence credentials for drafts: AccessDeniedException"):
        drafts.create_draft("How do I reach the VPN?", "<p>note</p>")
    assert reads == ["read"]
