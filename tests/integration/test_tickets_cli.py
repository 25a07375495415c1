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
