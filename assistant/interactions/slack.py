"""Recording Slack questions and votes: a wrapper around the Slack dedupe ledger + feedback store.

Every Slack answer goes through the same two store calls: the job claims its event key (`claim`), then the answer
record is saved under `answer_ref(key)` before it is shown (`save_answer`); a 👍/👎 is `record_vote(ref, ...)`.
So the wrapper sees each question start and finish without any change to the answering flow: the latency runs
from the claim to the saved answer (what the user waits for after Slack's ack), the origin comes from the key
(`command:` for the slash command) and the channel (`D...` for a DM), and the interaction id is the answer ref,
which is what the vote buttons carry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from assistant.interactions.base import Origin
from assistant.interactions.log import InteractionLog
from assistant.model import Decision
from assistant.slack.events import answer_ref
from assistant.slack.store import AnswerRecord, ClaimResult, EventLedger, FeedbackStore

_SETTLED = (Decision.ANSWER, Decision.TICKET, Decision.INVALID)
_log = logging.getLogger(__name__)
MAX_PENDING = 1000  # claims whose answer is not saved yet (a job that failed never saves: the oldest are dropped)


class SlackStore(EventLedger, FeedbackStore, Protocol):
    """Both protocols, as the one Slack state store implements them."""


class RecordingSlackStore:
    """`EventLedger` and `FeedbackStore` of `inner`, recording each answer and vote into `log` as well."""

    def __init__(
        self, inner: SlackStore, log: Callable[[], InteractionLog], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """`log` builds the interaction log when first needed (in the worker, never on Slack's ack path)."""
        self.inner = inner
        self._make_log = log
        self._log: InteractionLog | None = None
        self.clock = clock
        self._pending: OrderedDict[str, tuple[float, bool]] = OrderedDict()  # ref -> (claimed at, slash command)
        self._lock = threading.Lock()

    @property
    def log(self) -> InteractionLog:
        with self._lock:
            if self._log is None:
                self._log = self._make_log()
            return self._log

    # --- EventLedger ------------------------------------------------------------------------------------------
    def claim(self, key: str, *, lease_seconds: float) -> ClaimResult:
        result = self.inner.claim(key, lease_seconds=lease_seconds)
        if result == "new" and key.startswith(("event:", "command:")):
            with self._lock:
                self._pending[answer_ref(key)] = (self.clock(), key.startswith("command:"))
                while len(self._pending) > MAX_PENDING:
                    self._pending.popitem(last=False)
        return result

    def complete(self, key: str) -> None:
        self.inner.complete(key)

    # --- FeedbackStore ----------------------------------------------------------------------------------------
    def save_answer(self, ref: str, record: AnswerRecord) -> None:
        self.inner.save_answer(ref, record)
        if record.decision not in _SETTLED:  # a placeholder's record ("Looking into it…"), not the answer yet
            return
        with self._lock:
            started, command = self._pending.pop(ref, (None, False))
        if record.decision == Decision.INVALID:
            return
        try:
            log = self.log
        except Exception as exc:  # the answer is worth more than its log line
            _log.warning("interaction log unavailable", extra={"error": f"{exc.__class__.__name__}: {exc}"})
            return
        log.record(
            interaction_id=ref,
            origin=slack_origin(record.channel, command=command),
            question=record.question,
            decision=record.decision,
            confidence=record.confidence,
            sources=record.sources if record.decision == Decision.ANSWER else (),
            latency_ms=(self.clock() - started) * 1000 if started is not None else None,
            ticket_id=record.ticket_id,
            answer=record.answer if record.decision == Decision.ANSWER else "",
        )

    def get_answer(self, ref: str) -> AnswerRecord | None:
        return self.inner.get_answer(ref)

    def record_vote(self, ref: str, user_id: str, vote: str) -> None:
        self.inner.record_vote(ref, user_id, vote)
        try:
            log = self.log
        except Exception as exc:
            _log.warning("interaction log unavailable", extra={"error": f"{exc.__class__.__name__}: {exc}"})
            return
        log.vote(ref, vote)

    def counts(self, ref: str | None = None) -> dict[str, int]:
        return self.inner.counts(ref)


def slack_origin(channel: str, *, command: bool) -> str:
    """`command` for the slash command wherever it was answered, `dm` in a direct message, else `channel`."""
    if command:
        return Origin.COMMAND
    return Origin.DM if channel.startswith("D") else Origin.CHANNEL
