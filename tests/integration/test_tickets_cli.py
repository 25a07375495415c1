"""`helpdesk tickets ...` as a user runs it (real subprocesses), on SQLite and on DynamoDB behind a
ThreadedMotoServer on 127.0.0.1 reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.aws import bare_table, dynamo_client, legacy_items, moto_server
from fakes.clock import FakeClock
from support import ROOT

from assistant.tickets.base import Ticket
from assistant.tickets.dynamodb import DynamoTicketStore
from assistant.tickets.sqlite import SqliteTicketStore


def run(env: dict[str, str], *args: str, rc: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "tickets", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )
    assert proc.returncode == rc, (proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@dataclass
class Cli:
    name: str
    env: dict[str, str]
    store: Any
    raw: Any

    def put_legacy(self, items: list[dict[str, Any]]) -> None:
        """Older records written straight into the backend: only an id, nothing else."""
        if self.name == "dynamodb":
            for item in items:
                self.raw.put_item(TableName=self.env["TICKETS_TABLE"], Item=item)
            return
        import sqlite3

        with sqlite3.connect(self.raw) as db:
            for item in items:
                ticket_id = item["ticket_id"]["S"]
                db.execute(
                    "INSERT INTO tickets VALUES (?, NULL, '', '', '', ?)",
                    (ticket_id, json.dumps({"ticket_id": ticket_id})),
                )


@pytest.fixture(params=["sqlite", "dynamodb"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    clock = FakeClock()
    if request.param == "sqlite":
        home = tmp_path / "home"
        store = SqliteTicketStore(home / "tickets.sqlite3", clock=clock.utc)
        return Cli("sqlite", {"HELPDESK_HOME": str(home)}, store, home / "tickets.sqlite3")
    url = request.getfixturevalue("endpoint")
    table = f"tickets-{uuid.uuid4().hex[:8]}"
    env = {"AWS_ENDPOINT_URL": url, "TICKETS_TABLE": table, "HELPDESK_HOME": str(tmp_path / "home")}
    out = run(env, "init-table").stdout
    assert f"Table {table} at {url}: created." in out and "by_requester (requester_id, created_at)" in out
    client = dynamo_client(url)
    return Cli("dynamodb", env, DynamoTicketStore(table, client=client, clock=clock.utc), client)


def seed(cli: Cli) -> list[Ticket]:
    s = cli.store
    a = s.create(
        Ticket(
            "",
            "VPN drops every hour 📶 <b>help</b>",
            requester_id="U1",
            requester_name="Zoë",
            requester_email="zoe@example.com",
            permalink="https://acme.slack.com/archives/C1/p1",
            draft_answer="Update the client [1].",
            sources=[{"page_id": "9", "title": "VPN", "url": "https://wiki.example.test/9", "score": 0.4}],
            confidence=0.3,
        )
    )
    b = s.create(Ticket("", "Printer on floor 3", requester_id="U2", requester_name="Al"))
    c = s.create(Ticket("", "Laptop battery", requester_id="U1", requester_name="Zoë", idempotency_key="Ev1"))
    cli.put_legacy(legacy_items(9))
    return [a, b, c]


def test_list_show_and_resolve(cli: Cli) -> None:
    a, b, c = seed(cli)
    listing = run(cli.env, "list").stdout.splitlines()
    assert len(listing) == 12 and any(line.startswith(a.ticket_id) and "Zoë" in line for line in listing)
    as_json = json.loads(run(cli.env, "list", "--json").stdout)
    assert {t["ticket_id"] for t in as_json} >= {a.ticket_id, b.ticket_id, "LEGACY-000"}
    assert set(as_json[0]) >= {"ticket_id", "status", "question", "sources", "idempotency_key", "email_status"}
    mine = json.loads(run(cli.env, "list", "--mine", "U1", "--json").stdout)
    assert sorted(t["ticket_id"] for t in mine) == sorted([a.ticket_id, c.ticket_id])
    few = run(cli.env, "list", "--limit", "5", "--json")
    assert len(json.loads(few.stdout)) == 5 and "showing the newest 5 tickets" in few.stderr  # a cut is said
    assert "showing" not in run(cli.env, "list", "--limit", "12").stderr

    shown = run(cli.env, "show", a.ticket_id.lower()).stdout
    assert f"{a.ticket_id} [open] low_confidence" in shown and "VPN drops every hour 📶 <b>help</b>" in shown
    assert "[1] VPN - https://wiki.example.test/9" in shown and "Email: pending" in shown
    assert "Slack thread: https://acme.slack.com/archives/C1/p1" in shown and "Confidence: 0.30" in shown
    assert json.loads(run(cli.env, "show", b.ticket_id, "--json").stdout)["requester_name"] == "Al"

    assert f"{a.ticket_id} resolved at " in run(cli.env, "resolve", a.ticket_id).stdout
    assert run(cli.env, "resolve", a.ticket_id).stdout.strip() == f"{a.ticket_id} was already resolved"
    resolved = json.loads(run(cli.env, "list", "--status", "resolved", "--json").stdout)
    assert [t["ticket_id"] for t in resolved] == [a.ticket_id] and resolved[0]["updated_at"]
    still_open = json.loads(run(cli.env, "list", "--status", "open", "--mine", "U1", "--json").stdout)
    assert [t["ticket_id"] for t in still_open] == [c.ticket_id]


def test_older_items_show_and_resolve_with_blanks(cli: Cli) -> None:
    seed(cli)
    shown = run(cli.env, "show", "LEGACY-000").stdout
    assert shown.startswith("LEGACY-000 [-] -, created -, updated -") and "Email: -" in shown
    assert "LEGACY-000 resolved at " in run(cli.env, "resolve", "LEGACY-000").stdout
    assert json.loads(run(cli.env, "show", "LEGACY-000", "--json").stdout)["status"] == "resolved"


def test_bad_input_gets_a_clear_error(cli: Cli) -> None:
    t = cli.store.create(Ticket("", "q"))
    cli.store.update(t.ticket_id, status="closed")
    err = run(cli.env, "resolve", t.ticket_id, rc=2).stderr
    assert err.strip() == f"helpdesk: error: {t.ticket_id} is closed; it cannot become resolved"
    assert "no ticket 'IT-NOPE0000'" in run(cli.env, "show", "IT-NOPE0000", rc=1).stderr
    assert "invalid choice: 'done'" in run(cli.env, "list", "--status", "done", rc=2).stderr


def test_init_table_adopts_an_existing_table_and_a_missing_table_is_explained(endpoint: str, tmp_path: Path) -> None:
    table = f"adopt-{uuid.uuid4().hex[:8]}"
    client = dynamo_client(endpoint)
    bare_table(client, table)
    for item in legacy_items(57):
        client.put_item(TableName=table, Item=item)
    env = {"AWS_ENDPOINT_URL": endpoint, "TICKETS_TABLE": "", "HELPDESK_HOME": str(tmp_path)}
    assert ": adopted, added by_requester, by_status." in run(env, "init-table", "--table", table).stdout
    assert ": already set up." in run(env, "init-table", "--table", table).stdout
    env["TICKETS_TABLE"] = table
    listed = json.loads(run(env, "list", "--json").stdout)
    assert len(listed) == 57 and all(t["ticket_id"].startswith("LEGACY-") for t in listed)
    assert "LEGACY-004" in run(env, "list", "--mine", "U0LEGACY").stdout
    env["TICKETS_TABLE"] = "no-such-table"
    err = run(env, "list", rc=1).stderr
    assert "table 'no-such-table' was not found (create it with `helpdesk tickets init-table`)" in err
    assert "--table NAME or set TICKETS_TABLE" in run({**env, "TICKETS_TABLE": ""}, "init-table", rc=2).stderr


# --- the workflow: start, resolve with a note and a draft page, close, reopen ---------------------------------


def test_resolve_keeps_the_note_tells_the_requester_and_records_who(cli: Cli) -> None:
    from fakes.aws import read_outbox

    env = {**cli.env, "HELPDESK_EMAIL_BACKEND": "outbox"}  # the .eml outbox on both backends, read back below
    t = cli.store.create(Ticket("", "VPN drops", requester_name="Zoë", requester_email="zoe@example.com"))
    assert f"{t.ticket_id} started at " in run(env, "start", t.ticket_id, "--by", "alice").stdout
    out = run(env, "resolve", t.ticket_id, "--by", "bob", "--note", "Updated the VPN client to 5.2").stdout
    assert f"{t.ticket_id} resolved at " in out and " by bob" in out and "zoe@example.com emailed" in out
    shown = json.loads(run(cli.env, "show", t.ticket_id, "--json").stdout)
    assert shown["status"] == "resolved" and shown["resolution_note"] == "Updated the VPN client to 5.2"
    assert [(h["status"], h["by"]) for h in shown["history"]] == [("in_progress", "alice"), ("resolved", "bob")]
    assert shown["draft_url"] == "" and shown["history"][1]["note"] == "Updated the VPN client to 5.2"
    mail = [m for m in read_outbox(Path(cli.env["HELPDESK_HOME"]) / "outbox") if "Resolved" in m.subject]
    assert len(mail) == 1 and mail[0].to == ["zoe@example.com"] and "Updated the VPN client to 5.2" in mail[0].text
    assert "Resolution: Updated the VPN client to 5.2" in run(cli.env, "show", t.ticket_id).stdout
    assert "was already resolved" in run(cli.env, "resolve", t.ticket_id, "--note", "again").stdout
    assert f"{t.ticket_id} closed at " in run(cli.env, "close", t.ticket_id).stdout
    assert f"{t.ticket_id} reopened at " in run(cli.env, "reopen", t.ticket_id, "--by", "carol").stdout
    last = json.loads(run(cli.env, "show", t.ticket_id, "--json").stdout)["history"][-1]
    assert (last["status"], last["by"]) == ("open", "carol") and last["at"].endswith("Z")


def test_list_filters_by_age(cli: Cli) -> None:
    from datetime import UTC, datetime, timedelta

    def days_ago(n: int) -> str:
        return (datetime.now(UTC) - timedelta(days=n)).isoformat(timespec="seconds").replace("+00:00", "Z")

    old = cli.store.create(Ticket("", "old", created_at=days_ago(30)))
    new = cli.store.create(Ticket("", "new", created_at=days_ago(1)))
    older = json.loads(run(cli.env, "list", "--older-than", "7", "--json").stdout)
    newer = json.loads(run(cli.env, "list", "--newer-than", "7", "--status", "open", "--json").stdout)
    assert [t["ticket_id"] for t in older] == [old.ticket_id] and [t["ticket_id"] for t in newer] == [new.ticket_id]
    assert "'soon' is not a number of days" in run(cli.env, "list", "--older-than", "soon", rc=2).stderr


def test_resolve_with_a_draft_page_creates_a_confluence_draft(cli: Cli) -> None:
    from fakes.confluence import ConfluenceFake

    t = cli.store.create(
        Ticket(
            "",
            "How do I map the <finance> share?",
            sources=[{"page_id": "7", "title": "Drives", "url": "https://wiki.example.test/7", "score": 0.31}],
        )
    )
    with ConfluenceFake() as wiki:
        env = {
            **cli.env,
            "CONFLUENCE_URL": wiki.url,
            "CONFLUENCE_USER": wiki.user,
            "CONFLUENCE_TOKEN": wiki.token,
            "HELPDESK_GAP_SPACE": "KBDRAFT",
            "HELPDESK_GAP_PARENT_ID": "4242",
        }
        out = run(env, "resolve", t.ticket_id, "--note", "Use \\\\files\\finance", "--draft-page").stdout
        assert len(wiki.created) == 1
        body = wiki.created[0]
        assert body["status"] == "draft" and body["space"] == {"key": "KBDRAFT"}
        assert body["ancestors"] == [{"type": "page", "id": "4242"}] and t.ticket_id in body["title"]
        page = body["body"]["storage"]["value"]
        assert "How do I map the &lt;finance&gt; share?" in page and "Use \\\\files\\finance" in page
        assert 'href="https://wiki.example.test/7"' in page and "Drives (score 0.31)" in page
        url = json.loads(run(env, "show", t.ticket_id, "--json").stdout)["draft_url"]
        assert url == f"{wiki.url}/spaces/KBDRAFT/pages/edit-v2/900001" and f"Draft page: {url}" in out
        run(env, "resolve", t.ticket_id, "--draft-page")  # already has one: no second page
        assert len(wiki.created) == 1


def test_a_refused_draft_leaves_the_ticket_resolved_and_says_so(cli: Cli) -> None:
    from fakes.confluence import ConfluenceFake

    t = cli.store.create(Ticket("", "Printer jam"))
    with ConfluenceFake() as wiki:
        env = {**cli.env, "CONFLUENCE_URL": wiki.url, "CONFLUENCE_USER": wiki.user, "CONFLUENCE_TOKEN": wiki.token}
        env["HELPDESK_GAP_SPACE"] = "KBDRAFT"
        wiki.fail(403)
        proc = run(env, "resolve", t.ticket_id, "--note", "Cleared it", "--draft-page", rc=1)
        err = proc.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"helpdesk: error: {t.ticket_id} is resolved, but no draft page")
        assert "HTTP 403" in err[0] and "write permission" in err[0]
        shown = json.loads(run(env, "show", t.ticket_id, "--json").stdout)
        assert shown["status"] == "resolved" and shown["resolution_note"] == "Cleared it"
        assert "HTTP 403" in shown["draft_error"] and shown["draft_url"] == ""
        wiki.fail(503)
        assert "HTTP 503" in run(env, "resolve", t.ticket_id, "--draft-page", rc=1).stderr
        assert "Draft page: " in run(env, "resolve", t.ticket_id, "--draft-page").stdout  # a retry makes it
        assert json.loads(run(env, "show", t.ticket_id, "--json").stdout)["draft_error"] == ""


def test_a_draft_page_without_settings_names_the_missing_one_and_still_resolves(cli: Cli) -> None:
    t = cli.store.create(Ticket("", "Laptop fan"))
    env = {**cli.env, "CONFLUENCE_URL": "", "CONFLUENCE_TOKEN": "", "HELPDESK_GAP_SPACE": ""}
    err = run(env, "resolve", t.ticket_id, "--note", "New fan", "--draft-page", rc=2).stderr.strip()
    assert (
        err == f"helpdesk: error: {t.ticket_id} is resolved, but no draft page: HELPDESK_GAP_SPACE is not set "
        "(the key of the Confluence space for knowledge-base drafts)"
    )
    shown = json.loads(run(env, "show", t.ticket_id, "--json").stdout)
    assert (shown["status"], shown["resolution_note"]) == ("resolved", "New fan")
    err = run({**env, "HELPDESK_GAP_SPACE": "KB"}, "resolve", t.ticket_id, "--draft-page", rc=2).stderr
    assert "CONFLUENCE_URL is not set" in err
