"""The interaction log in DynamoDB (INTERACTIONS_TABLE): hash key `interaction_id` (S), TTL attribute `expires_at`,
GSI `by_day` (`day` S, `at` S) for reading a period day by day without a scan.

Each item: `interaction_id`, `day` (YYYY-MM-DD), `at`, `expires_at` (N), `data` (the interaction as JSON) and,
once someone voted, `vote`. Recording updates those attributes but `vote`, so a late re-record keeps the vote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from assistant.interactions.base import Interaction, check_vote, iso
from assistant.interactions.exceptions import InteractionStoreError
from core.aws import LazyClient, error_code, error_message

HASH_KEY = "interaction_id"
DAY_INDEX = "by_day"
TTL_ATTRIBUTE = "expires_at"


def table_definition(table: str) -> dict[str, Any]:
    """CreateTable arguments of the table the CDK app deploys (on-demand; TTL is set apart, UpdateTimeToLive)."""
    return {
        "TableName": table,
        "KeySchema": [{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in (HASH_KEY, "day", "at")],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": DAY_INDEX,
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def record_request(table: str, interaction: Interaction) -> dict[str, Any]:
    """The UpdateItem that stores `interaction` without touching its vote (pure)."""
    return {
        "TableName": table,
        "Key": {HASH_KEY: {"S": interaction.interaction_id}},
        "UpdateExpression": "SET #day = :day, #at = :at, #ttl = :ttl, #data = :data",
        "ExpressionAttributeNames": {"#day": "day", "#at": "at", "#ttl": TTL_ATTRIBUTE, "#data": "data"},
        "ExpressionAttributeValues": {
            ":day": {"S": interaction.day},
            ":at": {"S": interaction.at},
            ":ttl": {"N": str(interaction.expires_at)},
            ":data": {"S": json.dumps(interaction.to_dict(), ensure_ascii=False)},
        },
    }


def vote_request(table: str, interaction_id: str, vote: str) -> dict[str, Any]:
    return {
        "TableName": table,
        "Key": {HASH_KEY: {"S": interaction_id}},
        "UpdateExpression": "SET #vote = :vote",
        "ConditionExpression": f"attribute_exists({HASH_KEY})",
        "ExpressionAttributeNames": {"#vote": "vote"},
        "ExpressionAttributeValues": {":vote": {"S": check_vote(vote)}},
    }


def day_query(table: str, day: str, start: str) -> dict[str, Any]:
    return {
        "TableName": table,
        "IndexName": DAY_INDEX,
        "KeyConditionExpression": "#day = :day AND #at >= :start",
        "ExpressionAttributeNames": {"#day": "day", "#at": "at"},
        "ExpressionAttributeValues": {":day": {"S": day}, ":start": {"S": start}},
    }


def parse_item(item: dict[str, Any]) -> Interaction:
    interaction = Interaction.from_dict(json.loads(item.get("data", {}).get("S") or "{}"))
    vote = item.get("vote", {}).get("S")
    if vote:
        interaction.vote = vote
    return interaction


def days_between(start: datetime, end: datetime) -> list[str]:
    """Every UTC day from `start` to `end`, both included (pure)."""
    day, last, out = start.date(), end.date(), []
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


class DynamoInteractionStore:
    def __init__(self, table: str, *, client: Any = None) -> None:
        self.table = table
        self._client = LazyClient.for_service("dynamodb", client)

    def _call(self, what: str, call: Callable[..., dict[str, Any]], request: dict[str, Any]) -> dict[str, Any]:
        try:
            return call(**request)
        except Exception as exc:
            code = error_code(exc)
            detail = f"{code}: {error_message(exc)}" if code else f"{exc.__class__.__name__}: {exc}"
            raise InteractionStoreError(f"interaction log ({self.table}) {what} failed: {detail}") from exc

    def record(self, interaction: Interaction) -> None:
        self._call("record", self._client.get().update_item, record_request(self.table, interaction))

    def set_vote(self, interaction_id: str, vote: str) -> bool:
        try:
            self._call("vote", self._client.get().update_item, vote_request(self.table, interaction_id, vote))
        except InteractionStoreError as exc:
            if error_code(exc.__cause__ or exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _pages(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            page = self._call("read", self._client.get().query, request)
            yield from page.get("Items", [])
            if not page.get("LastEvaluatedKey"):
                return
            request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    def since(self, start: datetime, *, now: datetime) -> list[Interaction]:
        cutoff, start_at = int(now.timestamp()), iso(start)
        out = [
            parse_item(item)
            for day in days_between(start, now)
            for item in self._pages(day_query(self.table, day, start_at))
        ]
        out = [i for i in out if i.expires_at > cutoff]  # TTL deletion lags by up to a couple of days
        return sorted(out, key=lambda i: (i.at, i.interaction_id))
