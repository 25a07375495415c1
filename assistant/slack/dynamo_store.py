"""Dedupe ledger and feedback store in one DynamoDB table (HELPDESK_DEDUPE_TABLE).

Table: partition key `pk` (String), no sort key, TTL attribute `expires_at` (epoch seconds). Items:
- `claim#<key>`: status in_progress|done, lease_until, expires_at. Claimed with a conditional put that succeeds
  only when the item is absent, expired, or an in-progress claim whose lease ran out (a delivery that died).
- `answer#<ref>`: data (JSON) for an answer's buttons, 30 days.
- `vote#<ref>#<user>`: one vote per user per answer; `votes#total` and `votes#<ref>`: counters kept in step.
TTL deletion is lazy (up to two days), so every read also checks `expires_at` itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from assistant.slack.exceptions import SlackStoreError
from assistant.slack.store import (
    ANSWER_TTL_SECONDS,
    DONE_TTL_SECONDS,
    VOTE_TTL_SECONDS,
    VOTES,
    AnswerRecord,
    ClaimResult,
    check_vote,
)
from core.aws import error_code


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


class DynamoSlackStore:
    def __init__(self, table: str, *, client: Any | None = None, clock: Callable[[], float] = time.time) -> None:
        if not table:
            raise SlackStoreError("HELPDESK_DEDUPE_TABLE is empty")
        self.table = table
        self._client = client
        self.clock = clock

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(TableName=self.table, **kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                raise
            raise SlackStoreError(f"DynamoDB {what} on {self.table} failed: {code or 'error'}") from exc
        except BotoCoreError as exc:
            raise SlackStoreError(f"DynamoDB {what} on {self.table} failed: {exc}") from exc

    # --- EventLedger ---------------------------------------------------------------------------------------
    def claim(self, key: str, *, lease_seconds: float) -> ClaimResult:
        from botocore.exceptions import ClientError

        now = self.clock()
        try:
            self._call(
                "claim",
                self.client.put_item,
                Item={
                    "pk": {"S": f"claim#{key}"},
                    "status": {"S": "in_progress"},
                    "lease_until": {"N": _n(now + lease_seconds)},
                    "expires_at": {"N": _n(now + max(lease_seconds, DONE_TTL_SECONDS))},
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR expires_at < :now OR (#s = :busy AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":now": {"N": _n(now)}, ":busy": {"S": "in_progress"}},
            )
            return "new"
        except ClientError:  # the condition failed: someone holds or finished it
            item = self._call(
                "read claim", self.client.get_item, Key={"pk": {"S": f"claim#{key}"}}, ConsistentRead=True
            ).get("Item", {})
            return "done" if item.get("status", {}).get("S") == "done" else "in_progress"

    def complete(self, key: str) -> None:
        now = self.clock()
        self._call(
            "complete",
            self.client.put_item,
            Item={
                "pk": {"S": f"claim#{key}"},
                "status": {"S": "done"},
                "lease_until": {"N": _n(now)},
                "expires_at": {"N": _n(now + DONE_TTL_SECONDS)},
            },
        )

    # --- FeedbackStore -------------------------------------------------------------------------------------
    def save_answer(self, ref: str, record: AnswerRecord) -> None:
        self._call(
            "save answer",
            self.client.put_item,
            Item={
                "pk": {"S": f"answer#{ref}"},
                "data": {"S": json.dumps(record.to_json(), ensure_ascii=False)},
                "expires_at": {"N": _n(self.clock() + ANSWER_TTL_SECONDS)},
            },
        )

    def get_answer(self, ref: str) -> AnswerRecord | None:
        item = self._call("get answer", self.client.get_item, Key={"pk": {"S": f"answer#{ref}"}}).get("Item")
        if not item or Decimal(item["expires_at"]["N"]) <= Decimal(_n(self.clock())):
            return None
        return AnswerRecord.from_json(json.loads(item["data"]["S"]))

    def record_vote(self, ref: str, user_id: str, vote: str) -> None:
        check_vote(vote)
        now = self.clock()
        old = self._call(
            "record vote",
            self.client.put_item,
            Item={
                "pk": {"S": f"vote#{ref}#{user_id}"},
                "vote": {"S": vote},
                "at": {"N": _n(now)},
                "expires_at": {"N": _n(now + VOTE_TTL_SECONDS)},
            },
            ReturnValues="ALL_OLD",
        ).get("Attributes", {})
        previous = old.get("vote", {}).get("S")
        if previous == vote:
            return
        deltas = {vote: 1} | ({previous: -1} if previous in VOTES else {})
        for counter in ("votes#total", f"votes#{ref}"):
            names = {f"#v{i}": v for i, v in enumerate(deltas)}
            values = {f":d{i}": {"N": str(d)} for i, d in enumerate(deltas.values())}
            self._call(
                "count vote",
                self.client.update_item,
                Key={"pk": {"S": counter}},
                UpdateExpression="ADD " + ", ".join(f"#v{i} :d{i}" for i in range(len(deltas))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    def counts(self, ref: str | None = None) -> dict[str, int]:
        key = f"votes#{ref}" if ref else "votes#total"
        item = self._call("read counts", self.client.get_item, Key={"pk": {"S": key}}, ConsistentRead=True)
        attrs = item.get("Item", {})
        return {v: int(attrs.get(v, {}).get("N", "0")) for v in VOTES}


def create_table(client: Any, name: str) -> None:
    """Create the table as the CDK app does (tests and local DynamoDB); waits until it is active."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
