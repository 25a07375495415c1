"""What `helpdesk replay-failed` makes of a queue message, without any queue (pure)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from helpdesk.replay import format_report, parse_message, unqualified

EVENTS = Path(__file__).resolve().parents[1] / "events" / "lambda"
SIGNED_AT = 1772355600


def record() -> dict:
    return json.loads((EVENTS / "on_failure_slack_worker.json").read_text())


def message(body: object, **attributes: str) -> dict:
    out = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": body if isinstance(body, str) else json.dumps(body)}
    if attributes:
        out["MessageAttributes"] = {k: {"StringValue": v, "DataType": "String"} for k, v in attributes.items()}
    return out


def test_an_on_failure_record_goes_back_unqualified_with_its_payload():
    item = parse_message(message(record()), now=SIGNED_AT + 60)
    assert item.function == "arn:aws:lambda:us-east-1:123456789012:function:it-helpdesk-worker"
    assert item.payload == record()["requestPayload"]
    assert (item.origin, item.condition, item.problem) == ("lambda", "RetriesExhausted", "")
    assert item.what == "slack event:app_mention Ev0REPLAY1"


def test_a_version_or_alias_qualifier_is_kept():
    arn = "arn:aws:lambda:eu-west-1:1:function:f"
    assert unqualified(f"{arn}:$LATEST") == arn
    assert unqualified(f"{arn}:7") == f"{arn}:7" and unqualified(f"{arn}:live") == f"{arn}:live"


def test_a_base64_slack_body_is_described_too():
    r = record()
    r["requestPayload"]["body"] = base64.b64encode(r["requestPayload"]["body"].encode()).decode()
    r["requestPayload"]["isBase64Encoded"] = True
    assert parse_message(message(r), now=SIGNED_AT).what == "slack event:app_mention Ev0REPLAY1"


def test_an_eventbridge_dead_letter_names_its_target_in_an_attribute():
    item = parse_message(
        message({"full": True}, TARGET_ARN="arn:aws:lambda:us-east-1:1:function:it-helpdesk-ingest",
                ERROR_CODE="SDK_CLIENT_ERROR"),
        now=0,
    )  # fmt: skip
    assert item.function == "arn:aws:lambda:us-east-1:1:function:it-helpdesk-ingest"
    assert (item.payload, item.origin, item.condition) == ({"full": True}, "eventbridge", "SDK_CLIENT_ERROR")


def test_what_cannot_be_replayed_says_why():
    r = record()
    del r["requestPayload"]
    assert "no requestPayload" in parse_message(message(r), now=SIGNED_AT).problem
    stale = parse_message(message(record()), now=SIGNED_AT + 6 * 3600 + 1)
    assert "refuses replays older than 6 h" in stale.problem
    assert parse_message(message({"full": False}), now=0).problem.endswith("pass --function NAME")
    assert parse_message(message({"full": False}), function="it-helpdesk-ingest", now=0).problem == ""
    assert parse_message(message("{"), now=0).problem.startswith("the body is not JSON")


def test_the_report_never_prints_the_question_text():
    from helpdesk.replay import Outcome, ReplayReport

    item = parse_message(message(record()), now=SIGNED_AT)
    report = ReplayReport("https://sqs/q", dry_run=True, outcomes=[
        Outcome(item.message_id, item.function, item.condition, item.what, "would replay")])  # fmt: skip
    text = "\n".join(format_report(report))
    assert "VPN" not in text and "Ev0REPLAY1" in text
    assert text.splitlines()[-1] == "would replay 1, kept 0 in https://sqs/q"
