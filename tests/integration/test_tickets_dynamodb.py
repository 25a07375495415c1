"""DynamoDB specifics: init-table (create and adopt), item conversion, error translation, id scheme."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest
from fakes.aws import bare_table, dynamo_client, legacy_items
from fakes.clock import FakeClock

from assistant.exceptions import TicketError
from assistant.tickets.base import Ticket, derived_ticket_id, new_ticket_id
from assistant.tickets.config import TicketsConfig
from assistant.tickets.dynamodb import (
    INDEXES,
    DynamoTicketStore,
    build_update,
    from_item,
    init_table,
    table_definition,
    to_item,
)
from helpdesk.settings import SettingsError

TABLE = "it-helpdesk-tickets"


def no_sleep(_: float) -> None:
    pass


def test_table_definition_is_on_demand_with_two_gsis() -> None:
    d = table_definition(TABLE)
    assert d["KeySchema"] == [{"AttributeName": "ticket_id", "KeyType": "HASH"}]
    assert d["BillingMode"] == "PAY_PER_REQUEST"
    gsis = {g["IndexName"]: [k["AttributeName"] for k in g["KeySchema"]] for g in d["GlobalSecondaryIndexes"]}
    assert gsis == {"by_requester": ["requester_id", "created_at"], "by_status": ["status", "created_at"]}
    assert {a["AttributeType"] for a in d["AttributeDefinitions"]} == {"S"}


def test_init_table_creates_then_finds_it_set_up() -> None:
    from moto import mock_aws

    with mock_aws():
        client = dynamo_client()
        first = init_table(TicketsConfig(table=TABLE), client=client, sleep=no_sleep)
        assert first.startswith(f"Table {TABLE} at https://dynamodb.us-east-1.amazonaws.com: created.")
        described = client.describe_table(TableName=TABLE)["Table"]
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert {g["IndexName"] for g in described["GlobalSecondaryIndexes"]} == set(INDEXES)
        assert ": already set up." in init_table(TicketsConfig(), "it-helpdesk-tickets", client=client, sleep=no_sleep)


def test_init_table_adopts_the_existing_table_with_its_57_items() -> None:
    from moto import mock_aws

    with mock_aws():
        client = dynamo_client()
        bare_table(client, TABLE)
        for item in legacy_items(57):
            client.put_item(TableName=TABLE, Item=item)
        message = init_table(TicketsConfig(table=TABLE), client=client, sleep=no_sleep)
        assert ": adopted, added by_requester, by_status." in message
        store = DynamoTicketStore(TABLE, client=client, clock=FakeClock().utc)
        new = store.create(Ticket("", "New after adoption", requester_id="U1"))
        assert len(store.list(limit=500)) == 58
        assert [t.ticket_id for t in store.list(requester="U1")] == [new.ticket_id]
        assert client.get_item(TableName=TABLE, Key={"ticket_id": {"S": "LEGACY-007"}})["Item"]["tags"] == {
            "SS": ["hw", "urgent"]
        }  # adoption rewrote nothing


def test_adopting_a_provisioned_table_gives_each_new_index_the_tables_throughput() -> None:
    from moto import mock_aws

    with mock_aws():
        client = dynamo_client()
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "ticket_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "ticket_id", "AttributeType": "S"}],
            ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        )
        sent: list[dict] = []
        client.meta.events.register(
            "provide-client-params.dynamodb.UpdateTable", lambda params, **_: sent.append(params)
        )
        message = init_table(TicketsConfig(table=TABLE), client=client, sleep=no_sleep)
        assert "provisioned (7 RCU, 3 WCU)" in message  # real DynamoDB rejects a new GSI without throughput here
        creates = [u["Create"] for p in sent for u in p["GlobalSecondaryIndexUpdates"]]
        assert [c["IndexName"] for c in creates] == ["by_requester", "by_status"]
        assert all(c["ProvisionedThroughput"] == {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3} for c in creates)


def test_init_table_refuses_a_table_with_another_key() -> None:
    from moto import mock_aws

    with mock_aws():
        client = dynamo_client()
        client.create_table(
            TableName="other",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        with pytest.raises(TicketError, match="needs hash key ticket_id"):
            init_table(TicketsConfig(), "other", client=client, sleep=no_sleep)


def test_init_table_needs_a_name() -> None:
    with pytest.raises(SettingsError, match="--table NAME or set TICKETS_TABLE"):
        init_table(TicketsConfig(), None)


def test_a_missing_table_or_index_is_a_clear_error() -> None:
    from moto import mock_aws

    with mock_aws():
        client = dynamo_client()
        store = DynamoTicketStore("nope", client=client)
        with pytest.raises(TicketError, match=r"table .nope. was not found .*helpdesk tickets init-table"):
            store.create(Ticket("", "q"))
        bare_table(client, TABLE)
        with pytest.raises(TicketError, match=r"lacks an index .*init-table"):
            DynamoTicketStore(TABLE, client=client).list(status="open")


def test_an_unreachable_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    store = DynamoTicketStore.from_config(TicketsConfig(table=TABLE))
    with pytest.raises(TicketError, match="cannot reach DynamoDB \\(EndpointConnectionError\\)"):
        store.get("IT-1")


def test_items_leave_out_blanks_and_carry_numbers_as_decimals() -> None:
    item = to_item(Ticket("IT-1", "q", requester_id="", confidence=0.25, sources=[{"title": "t", "score": 0.5}]))
    assert "requester_id" not in item and "draft_answer" not in item and item["confidence"] == {"N": "0.25"}
    assert item["sources"] == {"L": [{"M": {"title": {"S": "t"}, "score": {"N": "0.5"}}}]}
    assert to_item(Ticket("IT-1", "q", confidence=float("nan"))).get("confidence") is None
    back = from_item(item)
    assert back.confidence == 0.25 and back.sources == [{"title": "t", "score": 0.5, "page_id": "", "url": ""}]


def test_any_legacy_item_converts_without_raising() -> None:
    for item in legacy_items(9):
        ticket = from_item(item)
        assert ticket.ticket_id.startswith("LEGACY-") and isinstance(ticket.to_dict(), dict)
    assert from_item({"ticket_id": {"S": "X"}, "confidence": {"N": "0.5"}}).confidence == 0.5
    assert from_item({"ticket_id": {"S": "X"}, "created_at": {"N": "1700000000"}}).created_at == "1700000000"


def test_updates_remove_blanks_and_are_conditional() -> None:
    request = build_update(TABLE, "IT-1", {"status": "resolved", "requester_id": ""}, {"status": ("open", "")}, "T")
    assert request["UpdateExpression"] == "SET #f0 = :v0, #f2 = :v2 REMOVE #f1"
    assert request["ExpressionAttributeNames"]["#f2"] == "updated_at"
    assert request["ExpressionAttributeValues"][":v2"] == {"S": "T"}
    assert request["ConditionExpression"] == (
        "attribute_exists(#pk) AND (#c0 IN (:c0_0) OR attribute_not_exists(#c0) OR #c0 = :c0_blank)"
    )
    assert Decimal(build_update(TABLE, "IT-1", {"confidence": 0.1}, {}, "T")["ExpressionAttributeValues"][":v0"]["N"])


def test_ticket_ids_are_readable_and_derived_ids_are_stable() -> None:
    ids = {new_ticket_id() for _ in range(5000)}
    assert len(ids) == 5000 and all(len(i) == 11 and not set(i[3:]) & set("ILOU") for i in ids)
    assert derived_ticket_id("Ev1") == derived_ticket_id("Ev1") != derived_ticket_id("Ev1", 1)
    assert derived_ticket_id("Ev1") != derived_ticket_id("Ev2") and derived_ticket_id("Ev1").startswith("IT-")


def test_an_id_generator_that_keeps_colliding_gives_up_without_overwriting() -> None:
    from moto import mock_aws

    with mock_aws():
        client = dynamo_client()
        init_table(TicketsConfig(table=TABLE), client=client, sleep=no_sleep)
        first = DynamoTicketStore(TABLE, client=client).create(Ticket("IT-SAME0000", "first"))
        colliding = iter(["IT-SAME0000", "IT-SAME0000", "IT-FRESH000"])
        store = DynamoTicketStore(TABLE, client=client, id_factory=lambda: next(colliding))
        assert store.create(Ticket("", "second")).ticket_id == "IT-FRESH000"
        stuck = DynamoTicketStore(TABLE, client=client, id_factory=lambda: "IT-SAME0000")
        with pytest.raises(TicketError, match="could not allocate a unique ticket id"):
            stuck.create(Ticket("", "third"))
        assert store.get(first.ticket_id).question == "first"
