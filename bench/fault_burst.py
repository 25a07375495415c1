"""Fault injection under a burst: 100 signed questions in 10 s with Bedrock throttling and the mailer failing.

    .venv/bin/python -m bench.fault_burst [--questions 100] [--seconds 10] [--workers 10] [--throttle 0.5]
                                          [--mail-failures 0.25] [--redeliveries 10] [--scale 0.25]
                                          [--outage-scale 0.05] [--seed 7]

Everything runs in this process on a simulated clock (one simulated second lasts `--scale` real seconds, so
concurrency is real: threads overlap as they would): `--questions` app mentions, each in its own thread, signed
and sent through `handler.lambda_handler` (the gateway and Bolt) at an even pace over `--seconds`, plus
`--redeliveries` Slack retries of some of them. Bolt's Lambda asynchronous hand-off is simulated by a bounded
pool of `--workers` lazy workers (the worker function's reserved concurrency). Answers come from the real
assistant on the sample space (static embedder) with the real `BedrockAnswerer` and its retry budget, calling an
in-process Converse stand-in that throttles `--throttle` of the calls at random and takes 1.5 s per reply;
tickets go to SQLite and email to an .eml outbox that fails `--mail-failures` of the sends. After the burst, one
email sweep runs (as the scheduled sweep would). A second run repeats it with Bedrock throttling every call (a
full outage: every question becomes a ticket, and IT should get one outage alert and one summary), on a faster
clock (`--outage-scale`) since every question then waits out the 20 s retry budget.

The simulated waits include this process's own work (retrieval, SQLite, HTTP to the fake Slack) stretched by
1/scale, so a smaller `--scale` overstates them; at 0.25 that share is small.

Prints: answered, ticketed, lost (a question left without a final reply: must be 0), duplicates (a second reply
or ticket for one question: must be 0), Bedrock peak concurrency (must be <= --workers), IT emails sent (after the
sweep), and the slowest user's wait (simulated seconds from their message to their final reply). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path
from typing import Any

from bench._slack import ROOT, SECRET, TOKEN, FakeSlackApi, event_body, json_event, percentile, quiet_logging

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
CHANNEL = "C0HELP001"
IT = "it-support@example.com"


class SimClock:
    """Simulated seconds that pass `scale` times faster than real ones, shared by every thread."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.origin = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self.origin) / self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds * self.scale)

    def utc(self) -> Any:
        from datetime import UTC, datetime, timedelta

        return datetime(2026, 3, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=self())


class ThrottlingConverse:
    """An in-process Converse stand-in: throttles a share of the calls, answers the rest like tests/fakes/bedrock
    after `latency` simulated seconds, and records the peak number of calls in flight."""

    def __init__(self, clock: SimClock, *, throttle: float, latency: float, seed: int) -> None:
        self.clock, self.throttle, self.latency = clock, throttle, latency
        self.rand = random.Random(seed)
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.calls = self.throttled = 0

    def converse(self, **request: Any) -> Mapping[str, Any]:
        from botocore.exceptions import ClientError
        from fakes.bedrock import Call, default_model

        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            throttled = self.rand.random() < self.throttle
            self.throttled += throttled
        try:
            if throttled:
                self.clock.sleep(0.05)
                error = {"Error": {"Code": "ThrottlingException", "Message": "Too many requests"}}
                raise ClientError({**error, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Converse")
            self.clock.sleep(self.latency)
            return default_model(Call("converse", MODEL, dict(request)))
        finally:
            with self.lock:
                self.in_flight -= 1


class FlakyOutbox:
    """The .eml outbox mailer, failing a share of the sends at random (SES throttling, a relay down)."""

    def __init__(self, inner: Any, *, failures: float, seed: int) -> None:
        self.inner, self.failures = inner, failures
        self.rand = random.Random(seed)
        self.lock = threading.Lock()
        self.failed = 0

    def send(self, email: Any) -> str:
        from assistant.exceptions import MailError

        with self.lock:
            fail = self.rand.random() < self.failures
            self.failed += fail
        if fail:
            raise MailError("injected failure (Throttling)", code="Throttling")
        return self.inner.send(email)


class TimedSlack(FakeSlackApi):
    """The fake Slack Web API, noting when each thread's reply last changed (simulated seconds)."""

    def __init__(self, clock: SimClock) -> None:
        super().__init__()
        self.clock = clock
        self.replied: dict[str, float] = {}

    def _note(self, channel: str, ts: str) -> None:
        for msg in self.messages(channel):
            if msg["ts"] == ts:
                self.replied[str(msg.get("thread_ts") or ts)] = self.clock()

    def _api_chat_update(self, p: dict) -> dict:
        result = super()._api_chat_update(p)
        self._note(str(p.get("channel", "")), str(p.get("ts", "")))
        return result


def _index(home: Path) -> Path:
    from index_store.local import LocalIndexStore
    from ingest.embedders.local import StaticEmbedder
    from ingest.pipeline import run_ingest
    from ingest.sources.export import ExportSource

    location = home / "index"
    run_ingest(ExportSource(ROOT / "examples" / "it-space"), StaticEmbedder(), LocalIndexStore(location))
    return location


def run(args: argparse.Namespace) -> dict[str, Any]:
    from fakes.lambda_context import LambdaContext

    import handler
    from assistant import messages
    from assistant.answerers.bedrock import BedrockAnswerer
    from assistant.mail.outbox import OutboxMailer
    from assistant.slack.lazy import ThreadedLazyRunner
    from assistant.slack.store import SqliteSlackStore
    from assistant.tickets.desk import TicketDesk
    from assistant.tickets.sqlite import SqliteTicketStore
    from assistant.tickets.sweep import run_sweep
    from helpdesk import slack_lambda as aws
    from helpdesk.factory import build_assistant
    from helpdesk.settings import Settings
    from helpdesk.slack_runtime import build_runtime

    clock = SimClock(args.scale)
    questions = [json.loads(x)["question"] for x in (ROOT / "examples" / "it-space-questions.jsonl").open()]
    with tempfile.TemporaryDirectory() as tmp, TimedSlack(clock) as fake:
        home = Path(tmp)
        fake.add_user("U0ALICE01", "Alice Example", "alice@example.com")
        env = {
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_API_URL": fake.api_url,
            "HELPDESK_HOME": str(home),
            "HELPDESK_INDEX": str(_index(home)),
        }
        settings = Settings.from_env({**{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}, **env})
        model = ThrottlingConverse(clock, throttle=args.throttle, latency=1.5, seed=args.seed)
        answerer = BedrockAnswerer(MODEL, client=model, sleep=clock.sleep, clock=clock)
        assistant = replace(build_assistant(settings, with_tickets=False), answerer=answerer)
        mailer = FlakyOutbox(OutboxMailer(home / "outbox"), failures=args.mail_failures, seed=args.seed + 1)
        tickets = SqliteTicketStore(home / "tickets.sqlite3", clock=clock.utc)
        desk = TicketDesk(tickets, mailer, it_queue_email=IT, sender_email="helpdesk-bot@example.com")
        state = SqliteSlackStore(home / "slack.sqlite3", clock=clock)
        runner = ThreadedLazyRunner(max_workers=args.workers)
        runtime = build_runtime(
            settings, store=state, assistant=lambda: assistant, desk=lambda: desk, lazy_runner=runner, sleep=clock.sleep
        )
        aws.set_runtime(runtime)

        bodies = [
            event_body(
                "app_mention.json",
                event_id=f"EvBURST{i:05d}",
                text=f"<@U0BOT0001> {questions[i % len(questions)]}",
                ts=f"{1700200000 + i}.000100",
            )
            for i in range(args.questions)
        ]
        plan = [(i * args.seconds / args.questions, b, None) for i, b in enumerate(bodies)]
        plan += [((j + 0.5) * args.seconds / max(1, args.redeliveries), bodies[j * 7 % len(bodies)], 1)
                 for j in range(args.redeliveries)]  # fmt: skip
        plan.sort(key=lambda p: p[0])
        asked_at: dict[str, float] = {}
        statuses: Counter = Counter()
        started = time.perf_counter()
        for at, body, retry in plan:
            clock.sleep(at - clock())
            asked_at.setdefault(body["event"]["ts"], clock())
            statuses[handler.lambda_handler(json_event(body, retry=retry), LambdaContext())["statusCode"]] += 1
        drained = runner.drain(timeout=120)
        burst_s = time.perf_counter() - started
        sweep = run_sweep(tickets, mailer, sender="helpdesk-bot@example.com", it_queue=IT, clock=clock.utc)
        runner.shutdown(5)
        aws.set_runtime(None)

        replies: dict[str, list[dict]] = {}
        for msg in fake.bot_messages(CHANNEL):
            replies.setdefault(str(msg.get("thread_ts") or msg["ts"]), []).append(msg)
        settled = [t for t, ms in replies.items() if any(m.get("edited") for m in ms)]
        final = {t for t in settled if all(m["text"] != messages.SLACK_LOOKING for m in replies[t])}
        all_tickets = list(tickets.list(limit=10_000))
        per_question = Counter(t.thread_ts for t in all_tickets)
        ticketed = {t for t in final if any(k.thread_ts == t for k in all_tickets)}
        emails = [message_from_bytes(f.read_bytes()) for f in (home / "outbox").glob("*.eml")]
        it_emails = [str(m["Subject"]) for m in emails if IT in str(m["To"])]
        waits = [fake.replied[t] - asked_at[t] for t in asked_at if t in fake.replied]
        unsent = sum(1 for t in all_tickets if t.email_status != "sent")
    return {
        "questions": args.questions,
        "redeliveries": args.redeliveries,
        "workers": args.workers,
        "throttle": args.throttle,
        "acks": dict(statuses),
        "drained": drained,
        "answered": len(set(final) - ticketed),
        "ticketed": len(ticketed),
        "lost": sum(1 for t in asked_at if t not in final),
        "duplicates": sum(len(ms) - 1 for ms in replies.values()) + sum(n - 1 for n in per_question.values()),
        "bedrock_calls": model.calls,
        "bedrock_throttled": model.throttled,
        "bedrock_peak_concurrency": model.peak,
        "mail_failures_injected": mailer.failed,
        "tickets_by_reason": dict(Counter(t.reason for t in all_tickets)),
        "it_emails_sent": len(it_emails),
        "it_outage_alerts": sum(1 for x in it_emails if "] Outage:" in x),
        "it_outage_summaries": sum(1 for x in it_emails if "Outage summary" in x),
        "tickets_email_unsent": unsent,
        "sweep": {k: v for k, v in sweep.items() if k != "failed_ids"},
        "slowest_wait_s": round(max(waits), 1) if waits else None,
        "p50_wait_s": round(percentile(waits, 50), 1) if waits else None,
        "real_seconds": round(burst_s, 1),
    }


def _print(title: str, args: argparse.Namespace, report: dict[str, Any]) -> None:
    print(
        f"{title}: {report['questions']} questions (+{report['redeliveries']} redeliveries) in {args.seconds:g} "
        f"simulated s, {report['workers']} workers, Bedrock throttling {report['throttle']:.0%} of calls, mail "
        f"failing {args.mail_failures:.0%}\n"
        f"  answered {report['answered']}, ticketed {report['ticketed']}, lost {report['lost']}, "
        f"duplicates {report['duplicates']}\n"
        f"  Bedrock: {report['bedrock_calls']} calls, {report['bedrock_throttled']} throttled, peak concurrency "
        f"{report['bedrock_peak_concurrency']} (bound {report['workers']})\n"
        f"  IT emails sent {report['it_emails_sent']}, of them {report['it_outage_alerts']} outage alert(s) and "
        f"{report['it_outage_summaries']} summary (tickets by reason {report['tickets_by_reason']}; "
        f"{report['mail_failures_injected']} sends failed; tickets still owing an email after one sweep, for "
        f"the next: {report['tickets_email_unsent']})\n"
        f"  slowest user's wait {report['slowest_wait_s']} s (p50 {report['p50_wait_s']} s, simulated); "
        f"{report['real_seconds']} real s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--throttle", type=float, default=0.5)
    parser.add_argument("--mail-failures", type=float, default=0.25)
    parser.add_argument("--redeliveries", type=int, default=10)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--outage-scale", type=float, default=0.05, help="0: skip the full-outage run")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.questions = max(1, min(args.questions, 1000))
    logging.getLogger().addHandler(logging.NullHandler())  # the warnings are the point; keep them off the figures
    reports = {}
    with quiet_logging():
        reports["burst"] = run(args)
        if args.outage_scale > 0:
            reports["outage"] = run(argparse.Namespace(**{**vars(args), "throttle": 1.0, "scale": args.outage_scale}))
    _print("Burst", args, reports["burst"])
    if "outage" in reports:
        _print("Full outage", args, reports["outage"])
    print(json.dumps(reports))


if __name__ == "__main__":
    main()
