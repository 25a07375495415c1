"""`helpdesk replay-failed` through boto3 against moto's SQS and Lambda (in-process, no Docker)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpdesk import cli
from helpdesk.replay import DEFAULT_QUEUE_NAME, replay_failed

EVENTS = Path(__file__).resolve().parents[1] / "events" / "lambda"
SIGNED_AT = 1772355600  # x-slack-request-timestamp of the fixture's Slack request
ACCOUNT, REGION = "123456789012", "us-east-1"


def worker_record() -> dict[str, Any]:
    return json.loads((EVENTS / "on_failure_slack_worker.json").read_text())


def ingest_record() -> dict[str, Any]:
    record = worker_record()
    record["requestContext"]["functionArn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:it-helpdesk-ingest"
    record["requestContext"]["condition"] = "EventAgeExceeded"
    record["requestPayload"] = {"full": True}
    return record


class Aws:
    def __init__(self, sqs: Any, lam: Any, role: str) -> None:
        self.sqs = sqs
        self.lam = lam
        self.role = role
        self.queue_url = sqs.create_queue(QueueName=DEFAULT_QUEUE_NAME)["QueueUrl"]
        self.invoked: list[dict[str, Any]] = []
        # What the real client sends, read through botocore's own event hooks.
        lam.meta.events.register("provide-client-params.lambda.Invoke", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.invoked.append(dict(params))

    def send(self, body: Any, attributes: dict[str, str] | None = None) -> str:
        extra = {}
        if attributes:
            extra["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        text = body if isinstance(body, str) else json.dumps(body)
        return self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=text, **extra)["MessageId"]

    def bodies_left(self) -> list[str]:
        out: list[str] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300)
            if not got.get("Messages"):
                return out
            out += [m["Body"] for m in got["Messages"]]

    def function(self, name: str) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("handler.py", "def handler(event, context):\n    return event\n")
        self.lam.create_function(
            FunctionName=name, Runtime="python3.13", Role=self.role, Handler="handler.handler",
            Code={"ZipFile": buf.getvalue()},
        )  # fmt: skip


@pytest.fixture
def aws() -> Iterator[Aws]:
    import boto3
    from moto import mock_aws

    with mock_aws(config={"lambda": {"use_docker": False}}):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="worker",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]  # fmt: skip
        env = Aws(boto3.client("sqs", region_name=REGION), boto3.client("lambda", region_name=REGION), role)
        for name in ("it-helpdesk-worker", "it-helpdesk-ingest", "it-helpdesk-sweep"):
            env.function(name)
        yield env


class RefusingLambda:
    """The moto-backed client, except that Lambda refuses invokes of one function the way it does under load."""

    def __init__(self, real: Any, refuse: str) -> None:
        self.real = real
        self.refuse = refuse

    def invoke(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        if kwargs["FunctionName"].endswith(f":function:{self.refuse}"):
            error = {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Invoke")
        return self.real.invoke(**kwargs)


def run(aws: Aws, **kwargs: Any) -> Any:
    kwargs.setdefault("clock", lambda: SIGNED_AT + 3600)
    kwargs.setdefault("lambda_client", aws.lam)
    return replay_failed(sqs=aws.sqs, wait_seconds=0, **kwargs)


def test_each_message_goes_back_to_its_function_with_the_original_payload_and_is_deleted(aws):
    aws.send(worker_record())
    aws.send(ingest_record())
    aws.send({"full": False}, {"RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/ingest",
                               "TARGET_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:it-helpdesk-ingest",
                               "ERROR_CODE": "SDK_CLIENT_ERROR"})  # fmt: skip

    report = run(aws)

    assert [o.result for o in report.outcomes] == ["replayed"] * 3
    sent = {(p["FunctionName"], p["Payload"]) for p in aws.invoked}
    assert {p["InvocationType"] for p in aws.invoked} == {"Event"}
    unqualified = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    by_function = {f.removeprefix(unqualified): json.loads(payload) for f, payload in sent if "worker" in f}
    assert by_function == {"it-helpdesk-worker": worker_record()["requestPayload"]}  # exactly the failed event
    ingest = sorted(json.dumps(json.loads(p), sort_keys=True) for f, p in sent if f.endswith("it-helpdesk-ingest"))
    assert ingest == ['{"full": false}', '{"full": true}']
    assert aws.bodies_left() == []
    worker = next(o for o in report.outcomes if "worker" in o.function)
    assert (worker.condition, worker.what) == ("RetriesExhausted", "slack event:app_mention Ev0REPLAY1")


def test_dry_run_invokes_nothing_and_leaves_every_message_visible(aws):
    aws.send(worker_record())
    aws.send(ingest_record())

    report = run(aws, dry_run=True)

    assert [o.result for o in report.outcomes] == ["would replay", "would replay"]
    assert aws.invoked == []
    assert len(aws.bodies_left()) == 2  # visible at once, not after the visibility timeout


def test_a_refused_invoke_keeps_the_message_and_the_others_still_go(aws):
    aws.send(worker_record())
    aws.send(ingest_record())

    report = run(aws, lambda_client=RefusingLambda(aws.lam, "it-helpdesk-worker"))

    results = {o.function.rsplit(":", 1)[-1]: (o.result, o.reason) for o in report.outcomes}
    assert results == {
        "it-helpdesk-ingest": ("replayed", ""),
        "it-helpdesk-worker": ("kept", "invoke refused (TooManyRequestsException: Rate Exceeded.)"),
    }
    assert [json.loads(b) for b in aws.bodies_left()] == [worker_record()]  # kept, and visible again


def test_a_slack_request_older_than_the_worker_accepts_is_kept_not_sent(aws):
    aws.send(worker_record())

    report = run(aws, clock=lambda: SIGNED_AT + 7 * 3600)

    (outcome,) = report.outcomes
    assert outcome.result == "kept" and "signed 7.0 h ago" in outcome.reason
    assert aws.invoked == []
    assert len(aws.bodies_left()) == 1


def test_function_override_and_max(aws):
    for _ in range(3):
        aws.send({"full": False})  # no record of where it came from

    report = run(aws, function="it-helpdesk-ingest", max_messages=2)

    assert [o.result for o in report.outcomes] == ["replayed", "replayed"]
    assert [p["FunctionName"] for p in aws.invoked] == ["it-helpdesk-ingest"] * 2
    assert len(aws.bodies_left()) == 1


def test_a_message_without_a_function_is_kept_and_names_the_flag(aws):
    aws.send({"full": False})
    aws.send("not json at all")

    report = run(aws)

    reasons = sorted(o.reason for o in report.outcomes)
    assert reasons == ["no function recorded in the message; pass --function NAME", "the body is not JSON (Expecting "
                       "value)"]  # fmt: skip
    assert len(aws.bodies_left()) == 2


def test_cli_replays_from_the_default_queue_and_exits_1_when_some_stay(aws, capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    aws.send(ingest_record())
    assert cli.main(["replay-failed", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("would replay") and "it-helpdesk-ingest [EventAgeExceeded]" in out[0]
    assert out[-1] == f"would replay 1, kept 0 in {aws.queue_url}"

    aws.send({"full": False})  # no function recorded
    assert cli.main(["replay-failed", "--queue-url", aws.queue_url]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"replayed 1, kept 1 in {aws.queue_url}"
    assert aws.bodies_left() == ['{"full": false}']


def test_cli_names_a_missing_queue_with_exit_2(aws, capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    aws.sqs.delete_queue(QueueUrl=aws.queue_url)
    assert cli.main(["replay-failed"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"helpdesk: error: no queue {DEFAULT_QUEUE_NAME} in this account and Region")
    assert "\n" not in err


def test_cli_rejects_a_bad_max(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["replay-failed", "--max", "0"])
    assert exc.value.code == 2
    assert "'0' is not a positive whole number" in capsys.readouterr().err
