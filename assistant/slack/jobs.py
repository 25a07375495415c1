"""The dedupe runner: every lazy job claims its key, does its work, completes the key, and logs one info line.

A redelivery of a finished job finds its key done and does nothing; one whose first delivery died mid-way finds
the lease run out and does the work again. A job never raises into Bolt.

A delivery that finds the key still in progress does not give up at once: it polls the claim (`wait_polls` times,
`poll_seconds` apart) until the holder completes it (then there is nothing to do) or its lease runs out (then it
takes over). This matters for Lambda's asynchronous retries of a worker that died: the first retry comes about a
minute after the failure, which can be inside the lease, and a retry that returned "duplicate" would count as a
success, so Lambda would never try again and the question would stay unanswered.
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


POLL_SECONDS = 5.0
WAIT_POLLS = 7  # 35 s: with a 90 s lease and a 60 s worker, a retry a minute after a death waits out the lease


class JobRunner:
    def __init__(
        self,
        ledger: EventLedger,
        *,
        lease_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = POLL_SECONDS,
        wait_polls: int = WAIT_POLLS,
    ) -> None:
        self.ledger = ledger
        self.lease_seconds = lease_seconds
        self.sleep = sleep
        self.poll_seconds = poll_seconds
        self.wait_polls = wait_polls

    def _claim(self, key: str) -> str:
        """ "new" (ours to do), "done", or "in_progress" still after waiting for the holder."""
        claim = self.ledger.claim(key, lease_seconds=self.lease_seconds)
        for _ in range(self.wait_polls):
            if claim != "in_progress":
                break
            self.sleep(self.poll_seconds)
            claim = self.ledger.claim(key, lease_seconds=self.lease_seconds)
        return claim

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
            claim = self._claim(key)
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
