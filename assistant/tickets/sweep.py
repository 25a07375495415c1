"""The scheduled outbox sweep: (re)send the emails of tickets that still owe one, each exactly once.

Which tickets: open or in-progress ones created in the last `max_age` (default 7 days) whose `email_status` is
`failed...` (at once) or `pending`/`sending...` older than `stale_after` (default 15 minutes: a fresh one belongs to
the request that created it, an older one lost its sender). On DynamoDB that is a `by_status` range query per open
status, so the cost follows the open queue of the last days, not the table. Each ticket is claimed with a
compare-and-set before sending, so overlapping sweeps and the creating request never both send.

Then the outage summary: tickets whose IT email was held during a model outage (`assistant.tickets.outage`) are
named in one email to IT and marked sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from assistant.exceptions import TicketError
from assistant.mail.base import Mailer
from assistant.tickets.base import Clock, OutboxStore, owes_email, system_clock, ts_minus
from assistant.tickets.delivery import deliver
from assistant.tickets.outage import OutageAlerts, is_held, send_outage_summary

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=7)
STALE_AFTER = timedelta(minutes=15)


def run_sweep(
    store: OutboxStore,
    mailer: Mailer,
    *,
    sender: str,
    it_queue: str,
    notify_requester: bool = True,
    clock: Clock = system_clock,
    max_age: timedelta = MAX_AGE,
    stale_after: timedelta = STALE_AFTER,
    limit: int = 200,
    outage: OutageAlerts | None = None,
) -> dict[str, Any]:
    """One pass over the unsent tickets, then one outage summary for the held ones; returns counts (and the ids
    still failing). `outage`: batch the retried emails of outage tickets too (see `deliver`)."""
    stale_before = ts_minus(clock, stale_after)
    candidates = store.unsent(since=ts_minus(clock, max_age), limit=limit)
    summary: dict[str, Any] = {"examined": len(candidates), "owed": 0, "sent": 0, "failed": 0, "busy": 0, "errors": 0}
    still_failing: list[str] = []
    for ticket in candidates:
        if not owes_email(ticket, stale_before=stale_before):
            continue
        summary["owed"] += 1
        try:
            result = deliver(
                store, mailer, ticket, sender=sender, it_queue=it_queue, notify_requester=notify_requester,
                outage=outage,
            )  # fmt: skip
        except TicketError as exc:  # the store failed mid-way: the ticket stays owed for the next sweep
            summary["errors"] += 1
            log.warning("sweep could not update ticket", extra={"ticket_id": ticket.ticket_id, "error": str(exc)})
            continue
        summary[result.outcome] = summary.get(result.outcome, 0) + 1  # "held" only when some were
        if result.outcome == "failed":
            still_failing.append(ticket.ticket_id)
    summary["failed_ids"] = still_failing[:20]
    held = candidates
    if summary.get("held"):  # some were held just now: read their new state
        held = store.unsent(since=ts_minus(clock, max_age), limit=limit)
    try:
        outage_counts = send_outage_summary(
            store, mailer, [t for t in held if is_held(t)], sender=sender, it_queue=it_queue
        )
        if outage_counts["outage_listed"] or outage_counts["outage_errors"]:  # the keys appear only when it acted
            summary.update(outage_counts)
    except TicketError as exc:
        summary["errors"] += 1
        log.warning("outage summary not sent", extra={"error": str(exc)})
    return summary
