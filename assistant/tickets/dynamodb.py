"""Tickets in DynamoDB: the `it-helpdesk-tickets` table (hash key `ticket_id` S) plus two GSIs.

- Creates are single conditional puts (`attribute_not_exists(ticket_id)`), never overwrites. A ticket with an
  idempotency key (the Slack event or action id) gets an id derived from that key, so every redelivery races for
  the same item and exactly one write wins; the losers read the winner back (docs/decisions/0009).
- `by_requester` (requester_id, created_at) serves "my tickets"; `by_status` (status, created_at) the IT queue and
  the email sweep. Both are sparse: items lacking those attributes (the older ones) are simply not in them, and
  blank values are never written (a GSI key cannot be an empty string), so they stay out too.
- Older items of unknown shape load through the tolerant `Ticket.from_dict` and list with blanks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from assistant.exceptions import TicketError, TicketNotFound
from assistant.tickets.base import (
    OPEN_STATUSES,
    Clock,
    CompareAndSetStore,
    EmailStatus,
    Ticket,
    check_changes,
    derived_ticket_id,
    new_ticket_id,
    normalise_status,
    status_spellings,
    system_clock,
    utc_now,
)
from core.aws import error_code, error_message
from core.errors import ConfigError

if TYPE_CHECKING:
    from assistant.tickets.config import TicketsConfig

HASH_KEY = "ticket_id"
INDEXES: dict[str, tuple[str, str]] = {
    "by_requester": ("requester_id", "created_at"),
    "by_status": ("status", "created_at"),
}
MAX_ID_ATTEMPTS = 8
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


# --- pure: items and requests -----------------------------------------------------------------------------------


def _to_dynamo(value: Any) -> Any:
    """Python values as the boto3 serializer wants them: floats become Decimals (non-finite ones None)."""
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, Mapping):
        return {str(k): _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    """Deserialized values as plain Python: Decimals become ints or floats, sets lists, Binary bytes."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_from_dynamo(v) for v in value), key=str)
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3 Binary
        return value.value
    return value


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def to_item(ticket: Ticket) -> dict[str, Any]:
    """The DynamoDB item for a ticket. Blank fields are left out (a GSI key may not be an empty string)."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    return {k: ser.serialize(_to_dynamo(v)) for k, v in ticket.to_dict().items() if not _blank(_to_dynamo(v))}


def from_item(item: Mapping[str, Any]) -> Ticket:
    """A ticket from any item, however old or oddly shaped: never raises for unexpected attributes."""
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    plain: dict[str, Any] = {}
    for name, value in item.items():
        try:
            plain[name] = _from_dynamo(de.deserialize(value))
        except (TypeError, ValueError, KeyError):
            plain[name] = None
    return Ticket.from_dict(plain)


def build_update(
    table: str,
    ticket_id: str,
    changes: Mapping[str, Any],
    when: Mapping[str, Collection[str]],
    now: str,
    *,
    exact: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """UpdateItem arguments: SET the changes (REMOVE blanks), stamp updated_at, only if the item exists and `when`
    holds ("" in an allowed set also matches a missing attribute) and each attribute in `exact` still holds that
    typed value (an older item's own status, such as {"N": "1"} or {"S": "OPEN"})."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    names: dict[str, str] = {"#pk": HASH_KEY}
    values: dict[str, Any] = {}
    sets, removes = [], []
    for i, (name, value) in enumerate({**changes, "updated_at": now}.items()):
        names[f"#f{i}"] = name
        converted = _to_dynamo(value)
        if _blank(converted):
            removes.append(f"#f{i}")
        else:
            values[f":v{i}"] = ser.serialize(converted)
            sets.append(f"#f{i} = :v{i}")
    conditions = ["attribute_exists(#pk)"]
    for j, (name, allowed) in enumerate(when.items()):
        options = list(dict.fromkeys(allowed))
        if not options:
            raise TicketError(f"empty condition for {name!r}")
        names[f"#c{j}"] = name
        alternatives = []
        present = [o for o in options if o != ""]
        if present:
            marks = []
            for k, option in enumerate(present):
                values[f":c{j}_{k}"] = {"S": option}
                marks.append(f":c{j}_{k}")
            alternatives.append(f"#c{j} IN ({', '.join(marks)})")
        if "" in options:
            values[f":c{j}_blank"] = {"S": ""}
            alternatives.append(f"attribute_not_exists(#c{j}) OR #c{j} = :c{j}_blank")
        conditions.append("(" + " OR ".join(alternatives) + ")")
    for j, (name, typed) in enumerate((exact or {}).items()):
        names[f"#x{j}"] = name
        values[f":x{j}"] = dict(typed)
        conditions.append(f"#x{j} = :x{j}")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    request: dict[str, Any] = {
        "TableName": table,
        "Key": {HASH_KEY: {"S": ticket_id}},
        "UpdateExpression": expression,
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if values:
        request["ExpressionAttributeValues"] = values
    return request


def legacy_status_condition(
    item: Mapping[str, Any], when: Mapping[str, Collection[str]]
) -> dict[str, Mapping[str, Any]] | None:
    """For an item whose stored status is not in our spelling (a number, "OPEN") but whose normalised status
    `when` allows: the exact typed value to condition on instead (pure). None otherwise."""
    if "status" not in when or "status" not in item:
        return None
    raw = item["status"]
    if raw.get("S") is not None and raw["S"] == normalise_status(raw["S"]):
        return None  # stored in our own spelling: the normal condition already decided
    if from_item({"status": raw}).status not in set(when["status"]):
        return None
    return {"status": raw}


def table_definition(table: str) -> dict[str, Any]:
    """CreateTable arguments: on-demand, hash key ticket_id (S), the two GSIs projecting every attribute."""
    attributes = {HASH_KEY, *(a for pair in INDEXES.values() for a in pair)}
    return {
        "TableName": table,
        "KeySchema": [{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [_index(name) for name in INDEXES],
    }


def _index(name: str) -> dict[str, Any]:
    hash_attr, range_attr = INDEXES[name]
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_attr, "KeyType": "HASH"},
            {"AttributeName": range_attr, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def _error(exc: Exception, table: str) -> TicketError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code, message = error_code(exc), error_message(exc)
        if code in ("ValidationException", "ResourceNotFoundException") and "index" in message.lower():
            # DynamoDB: ValidationException "...does not have the specified index"; moto: "Invalid index"
            return TicketError(
                f"DynamoDB table {table!r} lacks an index ({message}); run `helpdesk tickets init-table` "
                "or deploy the CDK app to add by_requester and by_status"
            )
        if code == "ResourceNotFoundException":
            return TicketError(
                f"DynamoDB table {table!r} was not found (create it with `helpdesk tickets init-table`): {message}"
            )
        if code in _THROTTLED:
            return TicketError(f"DynamoDB throttled the request ({code}); try again shortly")
        return TicketError(f"DynamoDB request failed ({code}): {message}")
    return TicketError(f"cannot reach DynamoDB ({exc.__class__.__name__}): {exc}")


def _default_client() -> Any:
    import boto3
    from botocore.config import Config

    # Endpoint: botocore honours AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL itself.
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)
    return boto3.client("dynamodb", config=config)


def created_range(before: str | None, after: str | None) -> dict[str, Any]:
    """`_query` arguments bounding created_at, the indexes' range key (pure): one bound in the key condition, the
    other (when both are given) as a filter."""
    out: dict[str, Any] = {}
    names, values = {"#c": "created_at"}, {}
    if after:
        out["range"] = " AND #c >= :after"
        values[":after"] = {"S": after}
    if before:
        values[":before"] = {"S": before}
        if after:
            out["FilterExpression"] = "#c < :before"
        else:
            out["range"] = " AND #c < :before"
    if values:
        out.update(names=names, values=values)
    return out


def _scan_filter(before: str | None, after: str | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    parts, values = [], {}
    if before:
        parts.append("#c < :before")
        values[":before"] = {"S": before}
    if after:
        parts.append("#c >= :after")
        values[":after"] = {"S": after}
    return " AND ".join(parts), {"#c": "created_at"}, values


def _add_filter(kwargs: dict[str, Any], expression: str, names: dict[str, str], values: dict[str, Any]) -> None:
    """AND a filter into `_query` arguments (which take `names` and `values`)."""
    previous = kwargs.get("FilterExpression")
    kwargs["FilterExpression"] = f"({previous}) AND ({expression})" if previous else expression
    kwargs["names"] = {**kwargs.get("names", {}), **names}
    kwargs["values"] = {**kwargs.get("values", {}), **values}


# --- the store ---------------------------------------------------------------------------------------------------


class DynamoTicketStore(CompareAndSetStore):
    def __init__(
        self,
        table: str,
        *,
        client: Any | None = None,
        clock: Clock = system_clock,
        id_factory: Callable[[], str] = new_ticket_id,
    ) -> None:
        if not table:
            raise TicketError("no DynamoDB table name (set TICKETS_TABLE)")
        self.table = table
        self._client = client
        self._client_lock = threading.Lock()
        self._clock = clock
        self._new_id = id_factory

    @classmethod
    def from_config(cls, config: TicketsConfig) -> DynamoTicketStore:
        return cls(config.table)

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:  # boto3's default session is not thread-safe
                if self._client is None:
                    self._client = _default_client()
        return self._client

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise _error(exc, self.table) from exc
        except BotoCoreError as exc:
            raise _error(exc, self.table) from exc

    def _candidate_id(self, ticket: Ticket, attempt: int) -> str:
        if ticket.idempotency_key:
            return derived_ticket_id(ticket.idempotency_key, attempt)
        if attempt == 0 and ticket.ticket_id:
            return ticket.ticket_id
        return self._new_id()

    def create(self, ticket: Ticket) -> Ticket:
        """Write a new ticket with a conditional put; a repeat of an idempotency key returns the first ticket.

        A preset `ticket_id` is tried first when there is no idempotency key; any id already taken (by another
        ticket or an older item) is never overwritten: another id is drawn, up to MAX_ID_ATTEMPTS times.
        """
        from botocore.exceptions import ClientError

        now = utc_now(self._clock)
        new = replace(ticket, created_at=ticket.created_at or now, updated_at=ticket.updated_at or now)
        for attempt in range(MAX_ID_ATTEMPTS):
            new.ticket_id = self._candidate_id(ticket, attempt)
            try:
                self._call(
                    "put_item",
                    TableName=self.table,
                    Item=to_item(new),
                    ConditionExpression="attribute_not_exists(#pk)",
                    ExpressionAttributeNames={"#pk": HASH_KEY},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return new
            except ClientError as exc:
                existing = exc.response.get("Item") or self._raw(new.ticket_id)
                if existing is not None and ticket.idempotency_key:
                    holder = from_item(existing)
                    if holder.idempotency_key == ticket.idempotency_key:
                        return holder  # a redelivery: the first create won
        raise TicketError(f"could not allocate a unique ticket id in {MAX_ID_ATTEMPTS} attempts")

    def _raw(self, ticket_id: str) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self.table, Key={HASH_KEY: {"S": ticket_id}}, ConsistentRead=True)
        return response.get("Item")

    def _lookup(self, ticket_id: str) -> tuple[str, dict[str, Any]]:
        for candidate in dict.fromkeys((ticket_id.strip(), ticket_id.strip().upper())):
            if candidate and (item := self._raw(candidate)) is not None:
                return candidate, item
        raise TicketNotFound(f"no ticket {ticket_id!r}")

    def get(self, ticket_id: str) -> Ticket:
        return from_item(self._lookup(ticket_id)[1])

    def _pages(self, method: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call(method, TableName=self.table, **kwargs)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _query(self, index: str, key_attr: str, key: str, limit: int, **extra: Any) -> list[Ticket]:
        names = {"#k": key_attr, **extra.pop("names", {})}
        values = {":k": {"S": key}, **extra.pop("values", {})}
        out = []
        for item in self._pages(
            "query",
            IndexName=index,
            KeyConditionExpression="#k = :k" + extra.pop("range", ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **extra,
        ):
            out.append(from_item(item))
            if len(out) >= limit:
                break
        return out

    def list(
        self,
        *,
        status: str | None = None,
        requester: str | None = None,
        limit: int = 100,
        created_before: str | None = None,
        created_after: str | None = None,
    ) -> Sequence[Ticket]:
        """Newest first. With a requester: the by_requester index (filtered on status when given); with only a
        status: by_status, once per spelling an older item may have used ("OPEN"), plus a filtered scan for the
        undated items the index cannot hold; with neither: a full scan, so the older items lacking index attributes
        show too. Dates bound the index's range key (undated items are in no date window)."""
        ranges = created_range(created_before, created_after)
        if requester:
            extra: dict[str, Any] = {"ScanIndexForward": False, **ranges}
            if status:
                spellings = status_spellings(status)
                marks = ", ".join(f":s{i}" for i in range(len(spellings)))
                typed = {f":s{i}": {"S": v} for i, v in enumerate(spellings)}
                _add_filter(extra, f"#s IN ({marks})", {"#s": "status"}, typed)
            found = self._query("by_requester", "requester_id", requester, limit, **extra)
        elif status:
            found = []
            for spelling in status_spellings(status):
                found += self._query("by_status", "status", spelling, limit, ScanIndexForward=False, **ranges)
            if not (created_before or created_after):  # undated older items are outside the index: a filtered scan
                undated = self._pages(
                    "scan",
                    FilterExpression="attribute_not_exists(#c) AND attribute_exists(#s)",
                    ExpressionAttributeNames={"#c": "created_at", "#s": "status"},
                )
                found += [from_item(item) for item in undated]
        else:
            scan: dict[str, Any] = {}
            if created_before or created_after:
                expression, names, values = _scan_filter(created_before, created_after)
                scan = {
                    "FilterExpression": expression,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            found = [from_item(item) for item in self._pages("scan", **scan)]
        found = [t for t in found if not status or t.status == status]
        found.sort(key=lambda t: (t.created_at, t.ticket_id), reverse=True)
        return found[:limit]

    def update_if(self, ticket_id: str, when: Mapping[str, Collection[str]], **changes: Any) -> Ticket | None:
        from botocore.exceptions import ClientError

        check_changes(changes)
        candidates = list(dict.fromkeys(c for c in (ticket_id.strip(), ticket_id.strip().upper()) if c))
        for candidate in candidates:
            request = build_update(self.table, candidate, changes, when, utc_now(self._clock))
            try:
                return from_item(self._call("update_item", **request)["Attributes"])
            except ClientError as exc:
                item = exc.response.get("Item") or self._raw(candidate)
                if item is None:
                    continue
                exact = legacy_status_condition(item, when)
                if exact is None:
                    return None  # the ticket exists; `when` did not hold
                # An older item's status in its own spelling or type matches `when` once normalised: the same
                # update, conditioned on that exact stored value (so a concurrent change still wins).
                rest = {name: allowed for name, allowed in when.items() if name != "status"}
                request = build_update(self.table, candidate, changes, rest, utc_now(self._clock), exact=exact)
                try:
                    return from_item(self._call("update_item", **request)["Attributes"])
                except ClientError:
                    return None
        raise TicketNotFound(f"no ticket {ticket_id!r}")

    def unsent(self, *, since: str, limit: int = 100) -> Sequence[Ticket]:
        """Open and in-progress tickets since `since` whose email is not yet sent: a by_status range query with a
        filter, so a sweep reads only the open queue of the last days, never the whole table."""
        found: list[Ticket] = []
        for status in OPEN_STATUSES:
            found += self._query(
                "by_status",
                "status",
                status,
                limit,
                range=" AND #c >= :since",
                FilterExpression="attribute_exists(#e) AND NOT #e IN (:sent, :blank)",
                names={"#c": "created_at", "#e": "email_status"},
                values={":since": {"S": since}, ":sent": {"S": EmailStatus.SENT.value}, ":blank": {"S": ""}},
            )
        found.sort(key=lambda t: (t.created_at, t.ticket_id))
        return found[:limit]


# --- init-table ----------------------------------------------------------------------------------------------------


def init_table(
    config: TicketsConfig,
    table: str | None = None,
    *,
    client: Any | None = None,
    sleep: Callable[[float], None] | None = None,
    max_polls: int = 300,
) -> str:
    """Create the tickets table with its GSIs, or adopt an existing one (hash key ticket_id S) by adding any
    missing GSI. Honours AWS_ENDPOINT_URL. Returns a one-line description of what it did."""
    import time

    from botocore.exceptions import BotoCoreError, ClientError

    name = table or config.table
    if not name:
        raise ConfigError("no table name: pass --table NAME or set TICKETS_TABLE")
    client = client or _default_client()
    sleep = sleep or time.sleep
    try:
        try:
            described = client.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            client.create_table(**table_definition(name))
            _wait_active(client, name, sleep, max_polls)
            action = "created"
        else:
            added = _adopt(client, name, described, sleep, max_polls)
            action = f"adopted, added {', '.join(added)}" if added else "already set up"
            billing = _billing(described)
    except (ClientError, BotoCoreError) as exc:
        raise _error(exc, name) from exc
    indexes = ", ".join(f"{n} ({h}, {r})" for n, (h, r) in INDEXES.items())
    billing = "on-demand" if action == "created" else billing
    return f"Table {name} at {client.meta.endpoint_url}: {action}. Key ticket_id (S), {billing}; indexes {indexes}."


def _provisioned(described: Mapping[str, Any]) -> dict[str, int] | None:
    """The table's provisioned throughput, or None for an on-demand table (pure)."""
    mode = (described.get("BillingModeSummary") or {}).get("BillingMode")
    throughput = described.get("ProvisionedThroughput") or {}
    if mode == "PAY_PER_REQUEST" or not throughput.get("ReadCapacityUnits"):
        return None
    return {
        "ReadCapacityUnits": int(throughput["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(throughput.get("WriteCapacityUnits") or 1),
    }


def _billing(described: Mapping[str, Any]) -> str:
    p = _provisioned(described)
    return "on-demand" if p is None else f"provisioned ({p['ReadCapacityUnits']} RCU, {p['WriteCapacityUnits']} WCU)"


def _adopt(
    client: Any, name: str, described: Mapping[str, Any], sleep: Callable[[float], None], polls: int
) -> list[str]:
    key = [(k["AttributeName"], k["KeyType"]) for k in described.get("KeySchema", [])]
    types = {a["AttributeName"]: a["AttributeType"] for a in described.get("AttributeDefinitions", [])}
    if key != [(HASH_KEY, "HASH")] or types.get(HASH_KEY, "S") != "S":
        raise TicketError(f"table {name!r} has key {key}; a tickets table needs hash key ticket_id (S) only")
    existing = {g["IndexName"]: g for g in described.get("GlobalSecondaryIndexes", [])}
    provisioned = _provisioned(described)
    throughput = {"ProvisionedThroughput": provisioned} if provisioned else {}
    added = []
    for index, (hash_attr, range_attr) in INDEXES.items():
        if index in existing:
            schema = [k["AttributeName"] for k in existing[index]["KeySchema"]]
            if schema != [hash_attr, range_attr]:
                raise TicketError(f"table {name!r} has an index {index} on {schema}; expected {hash_attr, range_attr}")
            continue
        client.update_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": a, "AttributeType": "S"} for a in (HASH_KEY, hash_attr, range_attr)
            ],
            # A provisioned table needs throughput on each new index; it gets the table's own.
            GlobalSecondaryIndexUpdates=[{"Create": {**_index(index), **throughput}}],
        )
        _wait_active(client, name, sleep, polls)  # DynamoDB builds one new index at a time
        added.append(index)
    return added


def _wait_active(client: Any, name: str, sleep: Callable[[float], None], polls: int) -> None:
    for _ in range(polls):
        described = client.describe_table(TableName=name)["Table"]
        statuses = [described.get("TableStatus")] + [
            g.get("IndexStatus") for g in described.get("GlobalSecondaryIndexes", [])
        ]
        if all(s == "ACTIVE" for s in statuses):
            return
        sleep(1.0)
    raise TicketError(f"table {name!r} did not become ACTIVE in time")
