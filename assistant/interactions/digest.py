"""The weekly digest for IT, built from a `Report` as pure data: an email (text and HTML, every value escaped) and
a Slack message (mrkdwn, mentions defused). Sending is the caller's: the Mailer, and optionally Slack."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from assistant.interactions.report import Report
from assistant.mail.base import Mailer
from assistant.mail.compose import EmailContent
from assistant.safety import defuse_mentions

MAX_GAPS_IN_DIGEST = 10
MAX_QUESTIONS_PER_GAP = 5
MAX_ANSWER_EXCERPT = 300


def subject(report: Report) -> str:
    return (
        f"IT helpdesk digest, last {report.period_days} days: {report.questions} questions, "
        f"{report.tickets} tickets, {report.deflection_rate:.0%} answered"
    )


def _excerpt(text: str, limit: int = MAX_ANSWER_EXCERPT) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1].rstrip() + "…"


def digest_text(report: Report) -> str:
    lines = [
        subject(report),
        "",
        f"Questions: {report.questions}",
        f"Answered without a ticket: {report.answered} ({report.deflection_rate:.0%})",
        f"Tickets: {report.tickets}",
        f"Votes: {report.helpful} helpful, {report.not_helpful} not helpful",
        "",
        "Top gaps (questions the knowledge base could not answer, grouped by meaning):",
    ]
    if not report.gaps:
        lines.append("  (none)")
    for n, gap in enumerate(report.gaps[:MAX_GAPS_IN_DIGEST], 1):
        tickets = f" - tickets {', '.join(gap.ticket_ids)}" if gap.ticket_ids else ""
        lines.append(f"  {n}. {gap.topic} ({gap.count} question{'s' if gap.count != 1 else ''}){tickets}")
        lines.extend(f"     - {_excerpt(q)}" for q in gap.questions[:MAX_QUESTIONS_PER_GAP])
    lines += ["", "Answers marked not helpful:"]
    if not report.not_helpful_answers:
        lines.append("  (none)")
    for item in report.not_helpful_answers:
        lines.append(f"  - Q: {_excerpt(str(item['question']))}")
        lines.append(f"    A: {_excerpt(str(item['answer'])) or '(not kept)'}")
        lines.extend(f"    source: {s.get('title', '')} - {s.get('url', '')}" for s in item["sources"])
    lines += ["", "Pages most often cited:"]
    if not report.top_pages:
        lines.append("  (none)")
    lines.extend(f"  {p['count']:>4}  {p['title']} - {p['url']}" for p in report.top_pages)
    return "\n".join(lines) + "\n"


def digest_html(report: Report) -> str:
    e = html.escape
    parts = [
        f"<h2>{e(subject(report))}</h2>",
        f"<p>Questions: {report.questions}<br>Answered without a ticket: {report.answered} "
        f"({report.deflection_rate:.0%})<br>Tickets: {report.tickets}<br>"
        f"Votes: {report.helpful} helpful, {report.not_helpful} not helpful</p>",
        "<h3>Top gaps</h3><ol>",
    ]
    for gap in report.gaps[:MAX_GAPS_IN_DIGEST]:
        questions = "".join(f"<li>{e(_excerpt(q))}</li>" for q in gap.questions[:MAX_QUESTIONS_PER_GAP])
        tickets = f" - tickets {e(', '.join(gap.ticket_ids))}" if gap.ticket_ids else ""
        parts.append(f"<li><strong>{e(gap.topic)}</strong> ({gap.count}){tickets}<ul>{questions}</ul></li>")
    parts.append("</ol><h3>Answers marked not helpful</h3><ul>")
    for item in report.not_helpful_answers:
        sources = "".join(
            f'<li><a href="{e(str(s.get("url", "")))}">{e(str(s.get("title", "")))}</a></li>' for s in item["sources"]
        )
        parts.append(
            f"<li><strong>{e(_excerpt(str(item['question'])))}</strong><br>{e(_excerpt(str(item['answer'])))}"
            f"<ul>{sources}</ul></li>"
        )
    parts.append("</ul><h3>Pages most often cited</h3><ol>")
    parts.extend(
        f'<li><a href="{e(str(p["url"]))}">{e(str(p["title"]))}</a> ({p["count"]})</li>' for p in report.top_pages
    )
    parts.append("</ol>")
    return "".join(parts)


def compose_digest_email(report: Report, *, sender: str, it_queue: str) -> EmailContent:
    return EmailContent(
        sender=sender, to=(it_queue,), subject=subject(report), text=digest_text(report), html=digest_html(report)
    )


def digest_slack_text(report: Report) -> str:
    """The digest as one Slack message (plain mrkdwn, `&<>` escaped, no mention can ping anyone)."""

    def esc(text: str) -> str:
        return defuse_mentions(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))

    lines = [
        f"*{esc(subject(report))}*",
        f"{report.helpful} :+1: / {report.not_helpful} :-1:",
    ]
    if report.gaps:
        lines.append("*Top gaps*")
    for n, gap in enumerate(report.gaps[:MAX_GAPS_IN_DIGEST], 1):
        examples = " | ".join(esc(_excerpt(q, 120)) for q in gap.questions[:3])
        lines.append(f"{n}. *{esc(gap.topic)}* ({gap.count}): {examples}")
    if report.not_helpful_answers:
        lines.append(f"*Answers marked not helpful:* {len(report.not_helpful_answers)} (details in the email)")
    return "\n".join(lines)


@dataclass(frozen=True)
class DigestResult:
    email_id: str
    slack_ts: str = ""

    def to_json(self) -> dict[str, str]:
        return {"email_id": self.email_id, "slack_ts": self.slack_ts}


def send_digest(
    report: Report, mailer: Mailer, *, sender: str, it_queue: str, post: Callable[[str], str] | None = None
) -> DigestResult:
    """Email the digest to the IT queue; with `post` (text -> message ts) also post it to Slack."""
    email_id = mailer.send(compose_digest_email(report, sender=sender, it_queue=it_queue))
    return DigestResult(email_id, post(digest_slack_text(report)) if post is not None else "")
