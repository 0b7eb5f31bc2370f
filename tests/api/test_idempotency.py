"""Idempotency under concurrency: one execution per key, however many repeats race."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from tests.api.flows import create_intent
from tests.api.gql import CREATE, PROCESS, card

# The figure: 50 identical requests at once.
CONCURRENT = 50


async def _count(database_url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_concurrent_creates_with_one_key_create_one_intent(merchant: dict[str, Any], database_url: str) -> None:
    client = merchant["client"]
    key = f"order-{uuid.uuid4().hex}"
    variables = {"input": {"amount": 4200, "currency": "usd"}, "key": key}
    bodies = await asyncio.gather(*(client.data(CREATE, variables) for _ in range(CONCURRENT)))
    payloads = [b["createPaymentIntent"] for b in bodies]
    ids = {p["paymentIntent"]["id"] for p in payloads if p["paymentIntent"]}
    assert len(ids) == 1 and all(not p["userErrors"] for p in payloads)
    assert sum(not p["idempotentReplayed"] for p in payloads) == 1
    assert (
        await _count(database_url, "SELECT count(*) FROM payment_intents WHERE merchant_id = $1", merchant["id"]) == 1
    )


async def test_concurrent_processing_with_one_key_asks_the_bank_once(
    merchant: dict[str, Any], database_url: str
) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    variables = {"input": {"id": intent["id"], "card": card()}, "key": f"pay-{uuid.uuid4().hex}"}
    bodies = await asyncio.gather(*(client.data(PROCESS, variables) for _ in range(CONCURRENT)))
    payloads = [b["processPaymentIntent"] for b in bodies]
    executed = [p for p in payloads if p["paymentIntent"] and not p["idempotentReplayed"]]
    assert len(executed) == 1
    for payload in payloads:
        # A repeat either replays the one result or is told the key is in use: never runs again.
        if payload["userErrors"]:
            assert payload["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_IN_USE"
        else:
            assert payload["paymentIntent"]["status"] == "SUCCEEDED"
    attempts = await _count(
        database_url, "SELECT count(*) FROM payment_attempts WHERE payment_intent_id = $1", intent["id"]
    )
    decisions = await _count(
        database_url,
        "SELECT count(*) FROM bank_authorizations b JOIN payment_attempts a ON a.id = b.attempt_id "
        "WHERE a.payment_intent_id = $1",
        intent["id"],
    )
    assert (attempts, decisions) == (1, 1)


async def test_user_errors_leave_the_key_free(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    key = f"retry-{uuid.uuid4().hex}"
    refused = await client.data(CREATE, {"input": {"amount": 10, "currency": "usd"}, "key": key})
    assert refused["createPaymentIntent"]["userErrors"][0]["code"] == "AMOUNT_TOO_SMALL"
    fixed = await client.data(CREATE, {"input": {"amount": 1000, "currency": "usd"}, "key": key})
    assert fixed["createPaymentIntent"]["paymentIntent"]["amount"] == 1000


async def test_declined_processing_is_stored_retry_needs_a_new_key(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    key = f"decline-{uuid.uuid4().hex}"
    first = await client.data(PROCESS, {"input": {"id": intent["id"], "card": card("4000000000000002")}, "key": key})
    assert first["processPaymentIntent"]["paymentIntent"]["status"] == "FAILED"
    again = await client.data(PROCESS, {"input": {"id": intent["id"], "card": card("4000000000000002")}, "key": key})
    assert again["processPaymentIntent"]["idempotentReplayed"] is True
    other = await client.data(PROCESS, {"input": {"id": intent["id"], "card": card()}, "key": key})
    assert other["processPaymentIntent"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_keys_are_scoped_per_merchant(merchant: dict[str, Any], http: Any) -> None:
    from tests.conftest import SIGNUP, GraphQLClient

    other = (await GraphQLClient(http).data(SIGNUP, {"input": {"name": "B", "email": "b@x.test"}}))["signupMerchant"]
    key = f"shared-{uuid.uuid4().hex}"
    mine = await merchant["client"].data(CREATE, {"input": {"amount": 1000, "currency": "usd"}, "key": key})
    theirs = await GraphQLClient(http, other["secretKey"]).data(
        CREATE, {"input": {"amount": 2000, "currency": "usd"}, "key": key}
    )
    assert theirs["createPaymentIntent"]["idempotentReplayed"] is False
    assert theirs["createPaymentIntent"]["paymentIntent"]["id"] != mine["createPaymentIntent"]["paymentIntent"]["id"]


async def test_overlong_key_is_refused(merchant: dict[str, Any]) -> None:
    data = await merchant["client"].data(CREATE, {"input": {"amount": 1000, "currency": "usd"}, "key": "k" * 256})
    assert data["createPaymentIntent"]["userErrors"][0]["code"] == "INVALID_INPUT"
