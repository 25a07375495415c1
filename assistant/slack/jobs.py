"""The dedupe runner: every lazy job claims its key, does its work, completes the key, and logs one info line.

A redelivery of a finished job finds its key done and does nothing; one whose first delivery died mid-way finds
the lease run out and does the work again. A job never raises into Bolt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from assistant.slack.store import EventLedger

log = logging.getLogger("helpdesk.slack")


@dataclass
class Job:
    """What one lazy job did, for its single info log line."""

    kind: str
    outcome: str = "done"
    decision: str = ""
    ticket_id: str = ""


class JobRunner:
    def __init__(self, ledger: EventLedger, *, lease_seconds: float) -> None:
        self.ledger = ledger
        self.lease_seconds = lease_seconds

    def run(self, kind: str, key: str | None, work: Callable[[Job], None]) -> Job:
        """Claim `key`, do the work, complete; one info line whatever happens. `key=None`: nothing to do (the
        outcome says why), logged without touching the ledger."""
        job = Job(kind)
        started = time.perf_counter()
        if key is None:
            work(job)
            _log(job, started)
            return job
        try:
            claim = self.ledger.claim(key, lease_seconds=self.lease_seconds)
            if claim != "new":
                job.outcome = f"duplicate ({claim})"
            else:
                work(job)
                self.ledger.complete(key)
        except Exception as exc:  # a worker must never raise into Bolt; the lease lets a redelivery retry
            job.outcome = f"failed: {exc.__class__.__name__}"
            log.exception("slack job failed", extra={"job": kind})
        _log(job, started)
        return job


def _log(job: Job, started: float) -> None:
    extra = {
        "job": job.kind,
        "outcome": job.outcome,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if job.decision:
        extra["decision"] = job.decision
    if job.ticket_id:
        extra["ticket_id"] = job.ticket_id
    log.info("slack job", extra=extra)
