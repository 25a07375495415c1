"""`helpdesk`: ingest, ask, eval, tickets, report and digest from the command line.

Exit codes: 0 when it worked; 2 for bad input or settings; 1 for any other failure. Errors are one line on
stderr, never a traceback (set HELPDESK_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from assistant.model import Decision
from assistant.tickets.status import STATUSES
from core.errors import HelpdeskError
from helpdesk.evaluation import eval_metrics
from helpdesk.settings import Settings

T = TypeVar("T")


class UsageError(HelpdeskError):
    exit_code = 2


def _progress(items: Iterable[T], desc: str, total: int) -> Iterable[T]:
    """A progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, unit="page" if desc == "parsing" else "batch", leave=False)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.factory import build_embedder, build_index_store, build_source
    from ingest.pipeline import IngestOptions

    source = build_source(settings, args.source)
    store = build_index_store(settings, args.index)
    embedder = build_embedder(settings)
    options = IngestOptions.from_config(
        settings.ingest, index_type=settings.index.index_type, full=args.full, allow_partial=args.allow_partial
    )
    from helpdesk.calibration import ingest_and_calibrate, ingest_json, quiet

    summary, calibration = ingest_and_calibrate(
        source, embedder, store, options, settings.home, refit=settings.answering.self_calibration, progress=_progress
    )
    for warning in summary.warnings[:20]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(summary.warnings) > 20:
        print(f"warning: ... and {len(summary.warnings) - 20} more", file=sys.stderr)
    if not quiet(calibration):
        print(f"warning: {calibration.message}", file=sys.stderr)
    out = ingest_json(summary.to_json(), calibration)
    if args.json:
        _print_json(out)
    else:
        print(
            f"Indexed {summary.pages_seen} pages ({summary.pages_changed} changed, {summary.pages_deleted} removed, "
            f"{summary.pages_skipped} skipped): {summary.chunks_total} chunks, {summary.chunks_embedded} embedded, "
            f"{summary.chunks_reused} reused.\nIndex version {out['index_version']} at {store.location}"
        )
        if calibration.status == "fitted":
            print(calibration.message[:1].upper() + calibration.message[1:] + ".")
    return 0


def cmd_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.calibration import cache_for, calibrate
    from helpdesk.evaluation import check_gold_pages, read_questions
    from helpdesk.factory import build_embedder, build_index_store

    store = build_index_store(settings, args.index)
    labelled = None
    if args.questions:
        questions = read_questions(args.questions)
        check_gold_pages(questions, store.load().pages)
        labelled = questions.rows
    embedder = build_embedder(settings)
    run = calibrate(store, embedder, cache=cache_for(settings.home, embedder), labelled=labelled)
    if run.status != "fitted":
        print(f"warning: {run.message}", file=sys.stderr)
    if args.json:
        _print_json(run.to_json())
    elif run.status == "fitted":
        print(f"{run.message[:1].upper()}{run.message[1:]}.\nIndex version {run.index_version} at {store.location}")
    return 0


def format_answer(result: Any) -> str:
    """The human-readable answer: text, numbered sources with URLs, the ticket when one was opened."""
    lines = [result.answer, ""]
    if result.sources:
        lines.append("Sources:" if result.decision == Decision.ANSWER else "Pages that might help:")
        lines.extend(f"  [{i}] {s.title} - {s.url}" for i, s in enumerate(result.sources, 1))
    lines.append(
        f"(confidence {result.confidence:.2f}, decision: {result.decision}"
        + (f", ticket {result.ticket_id})" if result.ticket_id else ")")
    )
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import validate_question
    from assistant.tickets.desk import Requester
    from helpdesk.factory import build_assistant

    question = validate_question(args.question, settings.answering.max_question_chars)
    assistant = build_assistant(settings, args.index)
    user = os.environ.get("USER", "")
    started = time.perf_counter()
    result = assistant.ask(question, requester=Requester(user_id=user, name=user))
    _record_ask(settings, result, (time.perf_counter() - started) * 1000)
    if args.json:
        _print_json(result.to_json())
    else:
        _show(format_answer(result))
    return 0


def _record_ask(settings: Settings, result: Any, latency_ms: float) -> None:
    """Into the interaction log, for `helpdesk report` and the digest (never fails the answer)."""
    from helpdesk.factory import build_interaction_log

    answered = result.decision == Decision.ANSWER
    try:
        log = build_interaction_log(settings)
    except HelpdeskError as exc:  # an unwritable log must not cost the user the answer
        print(f"warning: the question was not recorded for the report: {exc}", file=sys.stderr)
        return
    log.record(
        origin="cli",
        question=result.question,
        decision=result.decision,
        confidence=result.confidence,
        sources=[s.to_json() for s in result.sources] if answered else [],
        latency_ms=latency_ms,
        ticket_id=result.ticket_id,
        answer=result.answer if answered else "",
    )


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.knowledge import check_days, make_report

    report = make_report(settings, check_days(args.days))
    if args.json:
        _print_json(report.to_json())
        return 0
    print(
        f"Last {report.period_days} days: {report.questions} questions, {report.answered} answered, "
        f"{report.tickets} tickets (deflection {report.deflection_rate:.0%}); "
        f"{report.helpful} helpful, {report.not_helpful} not helpful"
    )
    for n, gap in enumerate(report.gaps, 1):
        _show(f"Gap {n}: {gap.topic} ({gap.count}) {', '.join(gap.ticket_ids)}".rstrip())
        for question in gap.questions:
            _show(f"    - {' '.join(question.split())[:100]}")
    for item in report.not_helpful_answers:
        _show(f"Not helpful: {' '.join(str(item['question']).split())[:100]}")
    return 0


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.knowledge import check_days, run_digest

    result = run_digest(settings, check_days(args.days))
    print(f"digest sent: {result.email_id}" + (f"; posted to Slack ({result.slack_ts})" if result.slack_ts else ""))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.exceptions import InvalidQuestion
    from helpdesk.evaluation import check_gold_pages, format_misses, read_questions, worst_misses
    from helpdesk.factory import build_assistant, served_bundle

    questions = read_questions(args.questions)
    rows = questions.rows
    assistant = build_assistant(settings, args.index, with_tickets=False)  # never tickets, never email
    titles: dict[str, str] = {}
    bundle = served_bundle(assistant.retriever)
    if bundle is not None:  # a local or S3 index (not a knowledge base): every expected page must be in it
        check_gold_pages(questions, bundle.pages)
        titles = {page_id: page.title for page_id, page in bundle.pages.items()}
    try:  # fail before the work, not after it
        out = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    results = []
    with out:
        for row in rows:
            started = time.perf_counter()  # the whole question: retrieval, gate and answer
            try:
                r = assistant.ask(row["question"], open_ticket=False)
                res = {"id": row["id"], "page_ids": r.page_ids, "confidence": r.confidence, "decision": r.decision}
                if r.decision == Decision.ANSWER:
                    res["cited_page_ids"] = [s.page_id for s in r.sources]
            except InvalidQuestion as exc:
                res = {
                    "id": row["id"],
                    "page_ids": [],
                    "confidence": 0.0,
                    "decision": Decision.TICKET.value,
                    "error": str(exc),
                }
            res["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
            results.append(res)
            out.write(json.dumps(res, ensure_ascii=False) + "\n")
    scored = any("gold_page_ids" in r for r in rows)
    metrics = eval_metrics(rows, results) if scored else {}
    misses = worst_misses(rows, results, args.misses) if args.misses else []
    if args.json:
        if scored or args.misses:
            _print_json({**metrics, **({"misses": misses} if args.misses else {})})
    else:
        for key, value in metrics.items():
            print(f"{key}: {value}")
        if args.misses:
            for line in format_misses(misses, titles):
                print(line)
    print(f"wrote {len(results)} results to {args.out}", file=sys.stderr)
    return 0


def _ticket_json(t: Any) -> dict[str, Any]:
    return t.to_dict()


def cmd_tickets(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.factory import build_ticket_store

    if args.tickets_cmd == "init-table":
        from assistant.tickets.dynamodb import init_table

        print(init_table(settings.tickets, args.table))
        return 0
    store = build_ticket_store(settings)
    if args.tickets_cmd == "list":
        from helpdesk.tickets_cli import age_bounds

        bounds = age_bounds(args)
        tickets = list(store.list(status=args.status, requester=args.mine, limit=args.limit + 1, **bounds))
        cut = len(tickets) > args.limit
        tickets = tickets[: args.limit]
        if cut:  # on stderr, so --json stays one JSON document
            print(f"showing the newest {args.limit} tickets; use --limit for more", file=sys.stderr)
        if args.json:
            _print_json([_ticket_json(t) for t in tickets])
        elif not tickets:
            print("No tickets.")
        else:
            for t in tickets:
                q = " ".join(t.question.split())
                _show(
                    f"{t.ticket_id:12} {t.status or '-':11} {t.created_at or '-':20} "
                    f"{t.requester_name or t.requester_id or '-':12} {q[:70] + ('…' if len(q) > 70 else '')}"
                )
    elif args.tickets_cmd == "show":
        t = store.get(args.ticket_id)
        if args.json:
            _print_json(_ticket_json(t))
        else:
            _show(
                f"{t.ticket_id} [{t.status or '-'}] {t.reason or '-'}, created {t.created_at or '-'}, "
                f"updated {t.updated_at or '-'}"
            )
            _show(f"Requester: {t.requester_name or t.requester_id or '-'} {t.requester_email}".rstrip())
            if t.permalink:
                print(f"Slack thread: {t.permalink}")
            _show(f"Question: {t.question}")
            if t.confidence is not None:
                print(f"Confidence: {t.confidence:.2f}")
            if t.sources:
                print("Sources:")
                for i, s in enumerate(t.sources, 1):
                    _show(f"  [{i}] {s.get('title', '')} - {s.get('url', '')}")
            if t.draft_answer:
                _show(f"Draft answer:\n{t.draft_answer}")
            print(f"Email: {t.email_status or '-'}")
            from helpdesk.tickets_cli import show_lines

            for line in show_lines(t):
                _show(line)
    else:  # start, resolve, close, reopen
        from helpdesk.factory import build_ticket_desk
        from helpdesk.tickets_cli import run_workflow

        return run_workflow(args, settings, build_ticket_desk(settings))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.export import export_spaces
    from ingest.sources.confluence import http_from_config, validate_spaces

    spaces = validate_spaces(args.space)
    http = http_from_config(settings.confluence)
    target = Path(args.to)
    report = export_spaces(http, spaces, target, skip_restricted=settings.ingest.skip_restricted)
    for space, counts in report["spaces"].items():
        note = f", {counts['restricted_skipped']} restricted left out" if counts["restricted_skipped"] else ""
        if not counts["pages"] and not counts["restricted_skipped"]:
            note = " (no pages: check the space key and that the account can read the space)"
        print(f"{space}: {counts['pages']} pages in {counts['files']} files{note}", file=sys.stderr)
    print(f"Exported {report['pages']} pages from {len(spaces)} space(s) to {target} ({http.calls} requests)")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.slack_local import serve

    return serve(settings, host=args.host, port=args.port)


def cmd_slack(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.slack_local import run_socket_mode

    return run_socket_mode(settings)


def cmd_replay_failed(args: argparse.Namespace, settings: Settings) -> int:
    from helpdesk.replay import cmd_replay_failed as replay

    return replay(args, settings)


MAX_COUNT = 1_000_000  # a --limit/--max beyond this is a typo, not a request


def _show(text: str) -> None:
    """Print human output that carries stored or page text: no terminal escapes, no bidi overrides."""
    from core.text import clean_text

    print(clean_text(text))


def _positive(value: str) -> int:
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()) or not digits.strip("0"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    if len(digits.lstrip("0")) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{digits[:30]} is more than {MAX_COUNT:,}: give a smaller number")
    return int(digits)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("it-helpdesk-assistant")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _command(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand whose `--help` starts with what it does (argparse shows `help` only in the parent's list)."""
    return sub.add_parser(name, help=summary, description=summary[:1].upper() + summary[1:] + ".")


def build_parser() -> argparse.ArgumentParser:
    from helpdesk.tickets_cli import add_list_arguments, add_workflow_commands

    p = argparse.ArgumentParser(prog="helpdesk", description="IT helpdesk assistant over a Confluence knowledge base.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ing = _command(sub, "ingest", "build or update the index from a knowledge source")
    ing.add_argument(
        "--source",
        required=True,
        help="export:PATH (a folder of Confluence REST JSON files) or confluence:[SPACE,...] (live; default spaces: "
        "CONFLUENCE_SPACES)",
    )
    ing.add_argument("--index", help="index LOCATION (default: $HELPDESK_HOME/index)")
    ing.add_argument("--full", action="store_true", help="rebuild everything, re-embedding every chunk")
    ing.add_argument(
        "--allow-partial",
        action="store_true",
        help="index the export even when some files cannot be read, keeping the pages those files held "
        "(default: such a file fails the run, exit 2)",
    )
    ing.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    ing.set_defaults(func=cmd_ingest)

    cb = _command(sub, "calibrate", "refit the confidence gate on the index and publish it with the index")
    cb.add_argument("--index", help="index LOCATION (default: $HELPDESK_HOME/index)")
    cb.add_argument(
        "--questions",
        metavar="FILE",
        help="fit on a team's labelled questions (JSONL as for eval: gold_page_ids, [] for uncovered) instead of "
        "pseudo-questions made from the pages",
    )
    cb.add_argument("--json", action="store_true", help="print the fit as one JSON object")
    cb.set_defaults(func=cmd_calibrate)

    ask = _command(sub, "ask", "answer a question with numbered sources, or open a ticket")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--index", help="index LOCATION (default: $HELPDESK_HOME/index)")
    ask.add_argument("--json", action="store_true", help="print one JSON object: answer, decision, sources, ...")
    ask.set_defaults(func=cmd_ask)

    ev = _command(sub, "eval", "run a question set; never opens tickets or sends email")
    ev.add_argument("questions", help="JSONL lines {id, question, gold_page_ids?}")
    ev.add_argument("--index", help="index LOCATION")
    ev.add_argument("--out", required=True, help="results JSONL")
    ev.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    ev.add_argument(
        "--misses",
        type=_positive,
        metavar="N",
        help="also print the N worst misses (expected page ranked worst or not at all, wrong decisions) with their "
        'top pages; with --json they are the "misses" field',
    )
    ev.set_defaults(func=cmd_eval)

    tk = _command(sub, "tickets", "list, show, start, resolve, close and reopen tickets; create the DynamoDB table")
    tsub = tk.add_subparsers(dest="tickets_cmd", required=True, metavar="ACTION")
    tl = _command(tsub, "list", "list tickets, newest first")
    tl.add_argument("--status", choices=STATUSES, help="only tickets in this status")
    tl.add_argument("--mine", metavar="USER", help="only tickets requested by USER")
    tl.add_argument("--json", action="store_true", help="print one JSON array")
    tl.add_argument("--limit", type=_positive, default=100, help="at most this many, newest first (default 100)")
    add_list_arguments(tl)
    ts = _command(tsub, "show", "show one ticket with its question, sources and email state")
    ts.add_argument("ticket_id", help="e.g. IT-7K2M9Q4D")
    ts.add_argument("--json", action="store_true", help="print one JSON object")
    add_workflow_commands(tsub, _command)
    ti = _command(
        tsub, "init-table", "create the DynamoDB tickets table, or adopt an existing one (honours AWS_ENDPOINT_URL)"
    )
    ti.add_argument("--table", help="table name (default: $TICKETS_TABLE)")
    tk.set_defaults(func=cmd_tickets)

    ex = _command(sub, "export", "write live Confluence pages in the export format")
    ex.add_argument("--space", action="append", required=True, metavar="KEY", help="space key (repeatable)")
    ex.add_argument("--to", required=True, metavar="PATH", help="folder to write the JSON files into")
    ex.set_defaults(func=cmd_export)

    rp = _command(sub, "report", "what the assistant answered and what it could not: counts, votes and gaps")
    rp.add_argument("--days", default="7", help="the last N days, 1 to 3650 (default 7)")
    rp.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    rp.set_defaults(func=cmd_report)

    dg = _command(sub, "digest", "send IT the digest: numbers, top gaps, answers marked not helpful, top pages")
    dg.add_argument("--days", default="7", help="the last N days, 1 to 3650 (default 7)")
    dg.set_defaults(func=cmd_digest)

    sv = _command(sub, "serve", "run the Slack app on a local HTTP server (POST /slack/events)")
    sv.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.set_defaults(func=cmd_serve)

    sl = _command(sub, "slack", "run the Slack app over Socket Mode (needs SLACK_APP_TOKEN)")
    sl.add_argument("--socket-mode", action="store_true", required=True, help="connect over Socket Mode")
    sl.set_defaults(func=cmd_slack)

    rf = _command(sub, "replay-failed", "re-invoke the Lambda of each failed asynchronous invocation in the queue")
    rf.add_argument(
        "--queue-url",
        help="the stack's FailedInvocationsQueueUrl (default: the queue named it-helpdesk-failed-invocations)",
    )
    rf.add_argument("--function", metavar="NAME", help="invoke this function (default: the one each message names)")
    rf.add_argument("--max", type=_positive, metavar="N", help="at most N messages (default: all)")
    rf.add_argument("--dry-run", action="store_true", help="list what would be replayed; change nothing")
    rf.set_defaults(func=cmd_replay_failed)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = os.environ.get("HELPDESK_DEBUG") == "1"
    from core.logs import configure_logging

    level = "DEBUG" if debug else os.environ.get("HELPDESK_LOG_LEVEL", "WARNING").strip().upper() or "WARNING"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        print(f"helpdesk: error: HELPDESK_LOG_LEVEL={level!r} must be DEBUG, INFO, WARNING or ERROR", file=sys.stderr)
        return 2
    configure_logging(level)
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except HelpdeskError as exc:
        if debug:
            raise
        print(f"helpdesk: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("helpdesk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, with a way to see more
        if debug:
            raise
        print(
            f"helpdesk: internal error: {exc.__class__.__name__}: {exc} (set HELPDESK_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
