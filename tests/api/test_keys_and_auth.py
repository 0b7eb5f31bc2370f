"""Merchants, API keys and who may do what (API.md § Authentication)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.flows import create_intent, key
from tests.api.gql import CREATE, GET
from tests.conftest import SIGNUP, GraphQLClient

ROLL = """mutation($input: RollApiKeyInput!) { rollApiKey(input: $input) { key userErrors { code field } } }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_signup_shows_keys_once_and_replays_without_them(http: httpx.AsyncClient) -> None:
    client = GraphQLClient(http)
    variables = {"input": {"name": "Replay", "email": "r@x.test"}, "key": f"signup-{uuid.uuid4().hex}"}
    first = (await client.data(SIGNUP, variables))["signupMerchant"]
    assert first["secretKey"].startswith("sk_test_") and first["publishableKey"].startswith("pk_test_")
    again = (await client.data(SIGNUP, variables))["signupMerchant"]
    assert again["idempotentReplayed"] is True
    assert again["merchant"]["id"] == first["merchant"]["id"]
    assert again["secretKey"] is None and again["publishableKey"] is None
    reused = (await client.data(SIGNUP, {**variables, "input": {"name": "Other", "email": "o@x.test"}}))[
        "signupMerchant"
    ]
    assert reused["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_signup_validation(http: httpx.AsyncClient) -> None:
    payload = (await GraphQLClient(http).data(SIGNUP, {"input": {"name": "", "email": "nope"}}))["signupMerchant"]
    assert payload["userErrors"][0]["code"] == "INVALID_INPUT" and payload["merchant"] is None


async def test_both_auth_headers_work(http: httpx.AsyncClient, merchant: dict[str, Any]) -> None:
    for headers in ({"Authorization": f"Bearer {merchant['secretKey']}"}, {"X-API-KEY": merchant["secretKey"]}):
        body = (await http.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)).json()
        assert body["data"]["me"]["id"] == merchant["id"]


async def test_missing_and_wrong_keys_are_unauthenticated(http: httpx.AsyncClient) -> None:
    client = GraphQLClient(http)
    assert _code(await client.raw("{ me { id } }")) == "UNAUTHENTICATED"
    assert _code(await client.raw("{ me { id } }", key="sk_test_" + "x" * 43)) == "UNAUTHENTICATED"
    body = await client.raw(CREATE, {"input": {"amount": 1000, "currency": "usd"}, "key": "k"}, key="garbage")
    assert _code(body) == "UNAUTHENTICATED"


async def test_roll_secret_key_immediately_revokes_the_old_one(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    rolled = (await client.data(ROLL, {"input": {"kind": "SECRET"}}))["rollApiKey"]
    new_key = rolled["key"]
    assert new_key.startswith("sk_test_") and new_key != merchant["secretKey"]
    assert _code(await client.raw("{ me { id } }")) == "UNAUTHENTICATED"
    assert (await client.data("{ me { id } }", key=new_key))["me"]["id"] == merchant["id"]


async def test_roll_with_overlap_keeps_both_keys(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    rolled = (await client.data(ROLL, {"input": {"kind": "PUBLISHABLE", "expireCurrentInSeconds": 3600}}))["rollApiKey"]
    intent = await create_intent(client)
    for pk in (merchant["publishableKey"], rolled["key"]):
        got = await client.data(GET, {"id": intent["id"], "secret": intent["clientSecret"]}, key=pk)
        assert got["paymentIntent"]["id"] == intent["id"]
    bad = (await client.data(ROLL, {"input": {"kind": "SECRET", "expireCurrentInSeconds": -1}}))["rollApiKey"]
    assert bad["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_publishable_key_reaches_one_intent_only(merchant: dict[str, Any]) -> None:
    client, public = merchant["client"], merchant["public"]
    intent = await create_intent(client)
    seen = await public.data(GET, {"id": intent["id"], "secret": intent["clientSecret"]})
    assert seen["paymentIntent"]["id"] == intent["id"] and seen["paymentIntent"]["clientSecret"] is None
    assert (await public.data(GET, {"id": intent["id"]}))["paymentIntent"] is None
    assert (await public.data(GET, {"id": intent["id"], "secret": "pi_x_secret_wrong"}))["paymentIntent"] is None
    for query in (
        "{ me { id } }",
        "{ paymentIntents { edges { node { id } } } }",
        "{ events { edges { node { id } } } }",
    ):
        assert _code(await public.raw(query)) == "FORBIDDEN"
    body = await public.raw(CREATE, {"input": {"amount": 1000, "currency": "usd"}, "key": key()})
    assert _code(body) == "FORBIDDEN"


async def test_another_merchants_intent_is_invisible(http: httpx.AsyncClient, merchant: dict[str, Any]) -> None:
    intent = await create_intent(merchant["client"])
    other = await GraphQLClient(http).data(SIGNUP, {"input": {"name": "Other", "email": "other@x.test"}})
    other_client = GraphQLClient(http, other["signupMerchant"]["secretKey"])
    assert (await other_client.data(GET, {"id": intent["id"]}))["paymentIntent"] is None
    node = await other_client.data("query($id: ID!) { node(id: $id) { id } }", {"id": intent["id"]})
    assert node["node"] is None
    refund = await other_client.data(
        'mutation($id: ID!) { refundPaymentIntent(input: {id: $id}, idempotencyKey: "x") { userErrors { code } } }',
        {"id": intent["id"]},
    )
    assert refund["refundPaymentIntent"]["userErrors"][0]["code"] == "NOT_FOUND"
