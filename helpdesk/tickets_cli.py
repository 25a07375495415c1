"""The workflow half of `helpdesk tickets`: start, resolve, close, reopen (who and when recorded), the age filters
of `list`, and the note, draft and history lines of `show`.

Exit codes: 0 when the move worked (or the ticket already had that status); 2 for bad input, a move the workflow
does not allow, or `--draft-page` without its settings (the ticket is still moved, with its note); 1 when
Confluence refused or failed the draft (the ticket stays resolved, the failure is recorded on it as
`draft_error`; run the same command again to retry the draft).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.exceptions import AssistantError
from assistant.tickets.base import Ticket, format_ts
from assistant.tickets.status import ACTIONS, MAX_NOTE
from core.errors import ConfigError

SUMMARIES = {
    "start": "mark a ticket in progress (IT is on it)",
    "resolve": "mark a ticket resolved, tell the requester the note, optionally draft a knowledge-base page",
    "close": "close a ticket for good (from open, in progress or resolved)",
    "reopen": "reopen a resolved or closed ticket",
}
PAST = {"start": "started", "resolve": "resolved", "close": "closed", "reopen": "reopened"}


class DraftFailed(AssistantError):
    """The ticket moved, but Confluence did not make its draft (exit 1)."""


def _days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        days = -1.0
    if not 0 < days <= 36500:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days above 0")
    return days


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--older-than", type=_days, metavar="DAYS", help="only tickets created more than DAYS ago")
    parser.add_argument("--newer-than", type=_days, metavar="DAYS", help="only tickets created in the last DAYS")


def age_bounds(args: argparse.Namespace, now: datetime | None = None) -> dict[str, str]:
    """`list` keyword arguments for --older-than / --newer-than (pure given `now`)."""
    now = now or datetime.now(UTC)
    bounds = {}
    if args.older_than is not None:
        bounds["created_before"] = format_ts(now - timedelta(days=args.older_than))
    if args.newer_than is not None:
        bounds["created_after"] = format_ts(now - timedelta(days=args.newer_than))
    return bounds


def add_workflow_commands(tsub: Any, command: Any) -> None:
    """The four workflow actions; `command` is cli._command (a subcommand with its own description)."""
    for action, summary in SUMMARIES.items():
        p = command(tsub, action, summary)
        p.add_argument("ticket_id", help="e.g. IT-7K2M9Q4D")
        p.add_argument("--by", metavar="NAME", help="who did it, recorded in the history (default: $USER)")
        if action == "resolve":
            p.add_argument("--note", default="", metavar="TEXT", help=f"what IT did (at most {MAX_NOTE} chars)")
            p.add_argument(
                "--draft-page",
                action="store_true",
                help="also create a DRAFT Confluence page from the ticket in HELPDESK_GAP_SPACE",
            )


def run_workflow(args: argparse.Namespace, settings: Any, desk: Any) -> int:
    from assistant.tickets.workflow import move

    by = (args.by or os.environ.get("USER", "") or "cli").strip()
    outcome = move(
        desk,
        args.ticket_id,
        ACTIONS[args.tickets_cmd],
        by=by,
        note=getattr(args, "note", "") or "",
        draft=bool(getattr(args, "draft_page", False)),
    )
    t = outcome.ticket
    if outcome.changed:
        print(f"{t.ticket_id} {PAST[args.tickets_cmd]} at {t.updated_at} by {by}")
    else:
        print(f"{t.ticket_id} was already {t.status.replace('_', ' ')}")
    if outcome.emailed == "sent":
        print(f"Requester {t.requester_email} emailed the resolution.")
    elif outcome.emailed == "no address":
        print("Requester not emailed: the ticket has no email address.")
    elif outcome.emailed.startswith("failed"):
        print(f"warning: the requester email {outcome.emailed}", file=sys.stderr)
    if outcome.draft in ("created", "exists"):
        print(f"Draft page: {t.draft_url}")
    elif outcome.draft.startswith("missing: "):
        raise ConfigError(f"{t.ticket_id} is {t.status}, but no draft page: {outcome.draft[len('missing: ') :]}")
    elif outcome.draft.startswith("failed: "):
        raise DraftFailed(f"{t.ticket_id} is {t.status}, but no draft page: {outcome.draft[len('failed: ') :]}")
    return 0


def show_lines(t: Ticket) -> list[str]:
    """The workflow part of `tickets show`: note, draft and who moved the ticket when."""
    lines = []
    if t.resolution_note:
        lines.append(f"Resolution: {t.resolution_note}")
    if t.draft_url:
        lines.append(f"Draft page: {t.draft_url}")
    if t.draft_error:
        lines.append(f"Draft page failed: {t.draft_error}")
    for h in t.history:
        lines.append(f"  {h.get('at', '-')} {h.get('status', '-')} by {h.get('by') or '-'}")
    if t.history:
        lines.insert(len(lines) - len(t.history), "History:")
    return lines
