"""Queries: Relay pagination, filters, node, limits."""

from __future__ import annotations

from typing import Any

from tests.api.flows import create_intent, process_intent

PAGE = """query($first: Int, $after: String, $status: [PaymentIntentStatus!]) {
  paymentIntents(first: $first, after: $after, status: $status) {
    edges { cursor node { id status } } pageInfo { hasNextPage endCursor }
  }
}"""


async def test_relay_pagination_walks_every_intent_once(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    created = [(await create_intent(client))["id"] for _ in range(5)]
    seen: list[str] = []
    after = None
    while True:
        page = (await client.data(PAGE, {"first": 2, "after": after}))["paymentIntents"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(created))  # newest first, none twice, none missed


async def test_status_filter(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    paid = await create_intent(client)
    await process_intent(client, paid["id"])
    await create_intent(client)
    page = (await client.data(PAGE, {"first": 10, "status": ["SUCCEEDED"]}))["paymentIntents"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [paid["id"]]


async def test_page_size_and_cursor_limits(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    for first in (101, -1):
        body = await client.raw(PAGE, {"first": first})
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    body = await client.raw(PAGE, {"first": 1, "after": "not-a-cursor"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_node_and_intent_events(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    await process_intent(client, intent["id"])
    data = await client.data(
        """query($id: ID!) { node(id: $id) { id ... on PaymentIntent { status
             events(first: 10) { edges { node { type data } } } } } }""",
        {"id": intent["id"]},
    )
    node = data["node"]
    assert node["status"] == "SUCCEEDED"
    types = [edge["node"]["type"] for edge in node["events"]["edges"]]
    assert types == ["payment_intent.succeeded", "payment_intent.processing", "payment_intent.created"]
    snapshot = node["events"]["edges"][0]["node"]["data"]["object"]
    assert snapshot["status"] == "succeeded" and snapshot["version"] == 3 and "client_secret" not in snapshot


async def test_query_limits(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    deep = "{ me { id " + "".join("... on Merchant { id " for _ in range(3)) + "}" * 3 + " } }"
    assert "errors" not in await client.raw(deep)
    aliases = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(40)) + " }"
    body = await client.raw(aliases)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    body = await client.raw("{ me { id ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    body = await client.raw("{ me { nope } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    huge = "{ " + " ".join("me { id }" for _ in range(2000)) + " }"
    body = await client.raw(huge)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


RANGE = """query($first: Int, $after: String, $status: [PaymentIntentStatus!], $gte: DateTime, $lt: DateTime) {
  paymentIntents(first: $first, after: $after, status: $status, createdGte: $gte, createdLt: $lt) {
    edges { cursor node { id status createdAt } } pageInfo { hasNextPage endCursor }
  }
}"""


async def test_created_range_with_status_and_cursor(merchant: dict[str, Any]) -> None:
    """Every filter combined: a window of creation times, a status, and paging through it."""
    client = merchant["client"]
    made = [await create_intent(client) for _ in range(5)]
    for intent in made[1:4]:
        await process_intent(client, intent["id"])
    nodes = (await client.data(RANGE, {"first": 10}))["paymentIntents"]["edges"]
    created_at = {edge["node"]["id"]: edge["node"]["createdAt"] for edge in nodes}
    # The window [made[1], made[4]) holds made[1..3]; all three SUCCEEDED, made[4] is outside.
    window = {"gte": created_at[made[1]["id"]], "lt": created_at[made[4]["id"]], "status": ["SUCCEEDED"]}
    seen: list[str] = []
    after = None
    while True:
        page = (await client.data(RANGE, {"first": 2, "after": after, **window}))["paymentIntents"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [made[3]["id"], made[2]["id"], made[1]["id"]]
    created_only = await client.data(RANGE, {"first": 10, "status": ["CREATED"], **{"lt": window["lt"]}})
    assert [e["node"]["id"] for e in created_only["paymentIntents"]["edges"]] == [made[0]["id"]]
