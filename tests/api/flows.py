"""Small async helpers for driving intents through the API in tests."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.gql import CREATE, PROCESS, card
from tests.conftest import GraphQLClient


def key() -> str:
    return uuid.uuid4().hex


async def create_intent(
    client: GraphQLClient, amount: int = 2000, currency: str = "usd", **extra: Any
) -> dict[str, Any]:
    data = await client.data(CREATE, {"input": {"amount": amount, "currency": currency, **extra}, "key": key()})
    payload = data["createPaymentIntent"]
    assert payload["userErrors"] == [], payload
    intent: dict[str, Any] = payload["paymentIntent"]
    return intent


async def process_intent(client: GraphQLClient, intent_id: str, number: str = "4242424242424242") -> dict[str, Any]:
    data = await client.data(PROCESS, {"input": {"id": intent_id, "card": card(number)}, "key": key()})
    payload: dict[str, Any] = data["processPaymentIntent"]
    return payload
