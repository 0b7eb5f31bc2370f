"""createPaymentIntent idempotency in order: replays, reuse and invalid input answer as the contract says
(the key's verdict before the input's)."""

from __future__ import annotations

from typing import Any

from tests.api.flows import key
from tests.api.gql import CREATE, INTENT_FIELDS

EVERY_FIELD = CREATE.replace(
    INTENT_FIELDS, INTENT_FIELDS + " description metadata createdAt updatedAt cancellationReason"
)


async def test_replay_returns_the_stored_intent(merchant: dict[str, Any]) -> None:
    client, k = merchant["client"], key()
    variables = {"input": {"amount": 2500, "currency": "usd", "description": "d", "metadata": {"a": "1"}}, "key": k}
    first = (await client.data(EVERY_FIELD, variables))["createPaymentIntent"]
    again = (await client.data(EVERY_FIELD, variables))["createPaymentIntent"]
    assert first["idempotentReplayed"] is False and again["idempotentReplayed"] is True
    assert again["paymentIntent"]["id"] == first["paymentIntent"]["id"]
    assert again["paymentIntent"]["clientSecret"] == first["paymentIntent"]["clientSecret"]
    # The first answer is the intent the create made, a replay the stored record: every field alike.
    assert again["paymentIntent"] == first["paymentIntent"]


async def test_used_key_with_invalid_input_reports_reuse_first(merchant: dict[str, Any]) -> None:
    client, k = merchant["client"], key()
    await client.data(CREATE, {"input": {"amount": 2500, "currency": "usd"}, "key": k})
    reused = (await client.data(CREATE, {"input": {"amount": 1, "currency": "usd"}, "key": k}))["createPaymentIntent"]
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]


async def test_invalid_input_keeps_the_key_free(merchant: dict[str, Any]) -> None:
    client, k = merchant["client"], key()
    bad = (await client.data(CREATE, {"input": {"amount": 1, "currency": "usd"}, "key": k}))["createPaymentIntent"]
    assert [e["code"] for e in bad["userErrors"]] == ["AMOUNT_TOO_SMALL"]
    good = (await client.data(CREATE, {"input": {"amount": 2500, "currency": "usd"}, "key": k}))["createPaymentIntent"]
    assert good["userErrors"] == [] and good["idempotentReplayed"] is False
