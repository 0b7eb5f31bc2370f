"""Replays answered from stored response bytes (nexus/schema/replay_responses.py), on a live server.

Proof that an answer came from the stored bytes: the `clientSecret` field is read from the intent's
row on every executed replay, so after the row's secret is changed behind the API's back an executed
replay shows the new value and a stored one the old value. The test server has one process, so the
stored entry and the key roll's forgetting happen where the requests land.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.api.flows import create_intent, key
from tests.api.gql import CREATE, PROCESS, REFUND, card
from tests.conftest import SIGNUP, GraphQLClient, ServerProcess

ROLL = """mutation($input: RollApiKeyInput!) { rollApiKey(input: $input) { key userErrors { code field } } }"""
STORM = 20
# Simultaneous replays against a burst of 4 tokens: most must be refused.
BURST = 12
SECRET_CHANGED = "changed_behind_the_api"


async def _post(http: httpx.AsyncClient, api_key: str, query: str, variables: dict[str, Any]) -> bytes:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.content


def _payload(body: bytes, field: str = "createPaymentIntent") -> dict[str, Any]:
    answer = json.loads(body)
    assert "errors" not in answer, answer
    payload: dict[str, Any] = answer["data"][field]
    return payload


async def _change_secret(database_url: str, intent_id: str) -> None:
    """Rewrite the intent's clientSecret in PostgreSQL: only an executed replay can see it."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("UPDATE payment_intents SET client_secret = $1 WHERE id = $2", SECRET_CHANGED, intent_id)
    finally:
        await conn.close()


def _create_variables(amount: int = 2500) -> dict[str, Any]:
    return {"input": {"amount": amount, "currency": "usd"}, "key": f"storm-{uuid.uuid4().hex}"}


async def test_replay_storm_answers_the_stored_bytes(
    http: httpx.AsyncClient, merchant: dict[str, Any], database_url: str
) -> None:
    secret_key = merchant["secretKey"]
    variables = _create_variables()
    first = _payload(await _post(http, secret_key, CREATE, variables))
    assert first["idempotentReplayed"] is False
    stored = await _post(http, secret_key, CREATE, variables)  # the first replay: stored
    assert _payload(stored)["idempotentReplayed"] is True
    assert _payload(stored)["paymentIntent"]["clientSecret"] == first["paymentIntent"]["clientSecret"]
    await _change_secret(database_url, first["paymentIntent"]["id"])
    storm = await asyncio.gather(*(_post(http, secret_key, CREATE, variables) for _ in range(STORM)))
    assert all(body == stored for body in storm)


async def test_the_first_answer_is_not_stored(
    http: httpx.AsyncClient, merchant: dict[str, Any], database_url: str
) -> None:
    secret_key = merchant["secretKey"]
    variables = _create_variables()
    first = _payload(await _post(http, secret_key, CREATE, variables))
    await _change_secret(database_url, first["paymentIntent"]["id"])
    replay = _payload(await _post(http, secret_key, CREATE, variables))
    assert replay["idempotentReplayed"] is True
    assert replay["paymentIntent"]["clientSecret"] == SECRET_CHANGED  # executed, not the first answer


async def test_another_body_with_the_same_key_is_refused_not_answered(
    http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    secret_key = merchant["secretKey"]
    variables = _create_variables()
    for _ in range(3):
        await _post(http, secret_key, CREATE, variables)
    other = _payload(await _post(http, secret_key, CREATE, {**variables, "input": {"amount": 999, "currency": "usd"}}))
    assert other["paymentIntent"] is None
    assert other["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_another_merchant_sending_the_same_bytes_gets_its_own_answer(
    http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    variables = _create_variables()
    for _ in range(3):
        mine = await _post(http, merchant["secretKey"], CREATE, variables)
    signup = await GraphQLClient(http).data(SIGNUP, {"input": {"name": "Other Shop", "email": "other@shop.test"}})
    other_key = signup["signupMerchant"]["secretKey"]
    theirs = _payload(await _post(http, other_key, CREATE, variables))
    assert theirs["idempotentReplayed"] is False  # their own key space: a first execution
    assert theirs["paymentIntent"]["id"] != _payload(mine)["paymentIntent"]["id"]
    assert _payload(await _post(http, merchant["secretKey"], CREATE, variables)) == _payload(mine)


async def test_a_rolled_key_is_refused_though_its_replay_is_stored(
    http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    old_key = merchant["secretKey"]
    variables = _create_variables()
    for _ in range(3):
        stored = await _post(http, old_key, CREATE, variables)
    rolled = await GraphQLClient(http, old_key).data(ROLL, {"input": {"kind": "SECRET"}})
    refused = json.loads(await _post(http, old_key, CREATE, variables))
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The merchant's new key replays the same idempotency key (one scope per merchant).
    again = _payload(await _post(http, rolled["rollApiKey"]["key"], CREATE, variables))
    assert again["idempotentReplayed"] is True
    assert again["paymentIntent"] == _payload(stored)["paymentIntent"]


LIVE_FIELDS = {
    "attempts": "attempts { outcome }",
    "refunds": "refunds { id amount }",
    "events": "events(first: 20) { edges { node { id } } }",
}


def _create_reading(live: str) -> str:
    return f"""
mutation($input: CreatePaymentIntentInput!, $key: String!) {{
  createPaymentIntent(input: $input, idempotencyKey: $key) {{
    paymentIntent {{ ...Fixed {live} }} userErrors {{ code }} idempotentReplayed
  }}
}}
fragment Fixed on PaymentIntent {{ id status clientSecret }}"""


async def test_live_fields_are_never_answered_from_stored_bytes(
    http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    client: GraphQLClient = merchant["client"]
    secret_key = merchant["secretKey"]
    documents = {name: _create_reading(selection) for name, selection in LIVE_FIELDS.items()}
    variables = {name: _create_variables(3000) for name in LIVE_FIELDS}
    before = {}
    for name, document in documents.items():
        for _ in range(3):
            before[name] = _payload(await _post(http, secret_key, document, variables[name]))
        intent_id = before[name]["paymentIntent"]["id"]
        processed = await client.data(PROCESS, {"input": {"id": intent_id, "card": card()}, "key": key()})
        assert processed["processPaymentIntent"]["paymentIntent"]["status"] == "SUCCEEDED"
        await client.data(REFUND, {"input": {"id": intent_id, "amount": 100}, "key": key()})
    after = {name: _payload(await _post(http, secret_key, documents[name], variables[name])) for name in documents}
    for name in LIVE_FIELDS:
        assert after[name]["idempotentReplayed"] is True
        assert after[name]["paymentIntent"]["status"] == "CREATED"  # the stored snapshot
        assert after[name]["paymentIntent"][name] != before[name]["paymentIntent"][name], name


TWO_ROOTS = """
mutation($input: CreatePaymentIntentInput!, $key: String!) {
  a: createPaymentIntent(input: $input, idempotencyKey: $key) {
    paymentIntent { id clientSecret } userErrors { code } idempotentReplayed
  }
  b: createPaymentIntent(input: $input, idempotencyKey: $key) {
    paymentIntent { id clientSecret } userErrors { code } idempotentReplayed
  }
}"""


async def test_two_root_fields_are_never_answered_from_stored_bytes(
    http: httpx.AsyncClient, merchant: dict[str, Any], database_url: str
) -> None:
    secret_key = merchant["secretKey"]
    variables = _create_variables()
    for _ in range(3):
        body = await _post(http, secret_key, TWO_ROOTS, variables)
    assert _payload(body, "a")["idempotentReplayed"] is True and _payload(body, "b")["idempotentReplayed"] is True
    await _change_secret(database_url, _payload(body, "a")["paymentIntent"]["id"])
    again = await _post(http, secret_key, TWO_ROOTS, variables)
    assert _payload(again, "a")["paymentIntent"]["clientSecret"] == SECRET_CHANGED


async def test_refund_replays_are_answered_from_stored_bytes(
    http: httpx.AsyncClient, merchant: dict[str, Any], database_url: str
) -> None:
    client: GraphQLClient = merchant["client"]
    intent = await create_intent(client)
    await client.data(PROCESS, {"input": {"id": intent["id"], "card": card()}, "key": key()})
    variables = {"input": {"id": intent["id"], "amount": 500}, "key": key()}
    first = _payload(await _post(http, merchant["secretKey"], REFUND, variables), "refundPaymentIntent")
    assert first["idempotentReplayed"] is False and first["refund"]["amount"] == 500
    stored = await _post(http, merchant["secretKey"], REFUND, variables)
    await _change_secret(database_url, intent["id"])
    assert await _post(http, merchant["secretKey"], REFUND, variables) == stored


@pytest.fixture(scope="module")
def limited_server(database_url: str) -> Iterator[ServerProcess]:
    # 2 requests/s per key, burst 4 (as in test_http_surface): trips within one burst, no sleeping.
    server = ServerProcess(database_url, env={"NEXUS_RATE_LIMIT": "2"}).start()
    yield server
    server.stop()


async def test_stored_replays_still_count_against_the_rate_limit(limited_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=limited_server.url) as http:
        signup = await GraphQLClient(http).data(SIGNUP, {"input": {"name": "Busy", "email": "busy@shop.test"}})
        secret_key = signup["signupMerchant"]["secretKey"]
        variables = _create_variables()
        await _post(http, secret_key, CREATE, variables)
        stored = await _post(http, secret_key, CREATE, variables)
        bodies = await asyncio.gather(*(_post(http, secret_key, CREATE, variables) for _ in range(BURST)))
    limited = [json.loads(b)["errors"][0]["extensions"] for b in bodies if b != stored]
    assert limited, f"some of {BURST} simultaneous replays must exceed a burst of 4"
    assert all(e["code"] == "RATE_LIMITED" and e["retryAfter"] >= 1 for e in limited)
