"""The payment lifecycle over HTTP against a live server on real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.flows import create_intent, key, process_intent
from tests.api.gql import AUTHENTICATE, CANCEL, CAPTURE, CREATE, GET, PROCESS, REFUND, card


async def test_automatic_capture_succeeds(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    intent = await create_intent(client, 2000, "USD")
    assert intent["status"] == "CREATED" and intent["currency"] == "usd" and intent["version"] == 1
    assert intent["clientSecret"].startswith(f"{intent['id']}_secret_")
    payload = await process_intent(client, intent["id"])
    pi = payload["paymentIntent"]
    assert pi["status"] == "SUCCEEDED"
    assert pi["amountReceived"] == 2000 and pi["amountCapturable"] == 0
    assert pi["version"] == 3  # CREATED(1) → PROCESSING(2) → SUCCEEDED(3)
    assert pi["attempts"][0]["cardLast4"] == "4242" and pi["attempts"][0]["outcome"] == "approved"


async def test_manual_capture_partial_then_refunds(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    intent = await create_intent(client, 5000, captureMethod="MANUAL")
    pi = (await process_intent(client, intent["id"]))["paymentIntent"]
    assert pi["status"] == "REQUIRES_CAPTURE" and pi["amountCapturable"] == 5000

    over = await client.data(CAPTURE, {"input": {"id": intent["id"], "amountToCapture": 5001}, "key": key()})
    assert over["capturePaymentIntent"]["userErrors"][0]["code"] == "CAPTURE_EXCEEDS_AMOUNT"

    captured = await client.data(CAPTURE, {"input": {"id": intent["id"], "amountToCapture": 3000}, "key": key()})
    pi = captured["capturePaymentIntent"]["paymentIntent"]
    assert pi["status"] == "SUCCEEDED" and pi["amountReceived"] == 3000 and pi["amountCapturable"] == 0

    first = await client.data(
        REFUND, {"input": {"id": intent["id"], "amount": 1000, "reason": "damaged"}, "key": key()}
    )
    assert first["refundPaymentIntent"]["refund"]["amount"] == 1000
    second = await client.data(REFUND, {"input": {"id": intent["id"]}, "key": key()})
    assert second["refundPaymentIntent"]["refund"]["amount"] == 2000  # default: the rest
    assert second["refundPaymentIntent"]["paymentIntent"]["amountRefunded"] == 3000
    third = await client.data(REFUND, {"input": {"id": intent["id"], "amount": 1}, "key": key()})
    assert third["refundPaymentIntent"]["userErrors"][0]["code"] == "REFUND_EXCEEDS_AMOUNT"
    final = (await client.data(GET, {"id": intent["id"]}))["paymentIntent"]
    assert final["amountRefunded"] == 3000 and final["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("number", "decline_code"),
    [
        ("4000000000000002", "generic_decline"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000009987", "lost_card"),
        ("4000000000009979", "stolen_card"),
        ("4000000000000069", "expired_card"),
        ("4000000000000127", "incorrect_cvc"),
        ("4000000000000119", "processing_error"),
        ("4100000000000019", "fraudulent"),
    ],
)
async def test_declining_cards_fail_with_their_code(merchant: dict[str, Any], number: str, decline_code: str) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    payload = await process_intent(client, intent["id"], number)
    assert payload["userErrors"] == []
    pi = payload["paymentIntent"]
    assert pi["status"] == "FAILED"
    assert pi["lastPaymentError"]["code"] == "card_declined"
    assert pi["lastPaymentError"]["declineCode"] == decline_code
    if decline_code == "fraudulent":
        assert pi["attempts"][0]["riskLevel"] == "HIGHEST"


async def test_failed_intent_can_be_retried_with_a_new_card(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    assert (await process_intent(client, intent["id"], "4000000000009995"))["paymentIntent"]["status"] == "FAILED"
    retried = (await process_intent(client, intent["id"], "5555555555554444"))["paymentIntent"]
    assert retried["status"] == "SUCCEEDED" and retried["lastPaymentError"] is None
    assert [a["outcome"] for a in retried["attempts"]] == ["declined", "approved"]


async def test_elevated_risk_card_is_approved(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    pi = (await process_intent(client, intent["id"], "4000000000009235"))["paymentIntent"]
    assert pi["status"] == "SUCCEEDED" and pi["attempts"][0]["riskLevel"] == "ELEVATED"


@pytest.mark.parametrize("succeed", [True, False])
async def test_three_d_secure(merchant: dict[str, Any], succeed: bool) -> None:
    client, public = merchant["client"], merchant["public"]
    intent = await create_intent(client)
    data = await public.data(
        PROCESS,
        {
            "input": {"id": intent["id"], "clientSecret": intent["clientSecret"], "card": card("4000002760003184")},
            "key": key(),
        },
    )
    pi = data["processPaymentIntent"]["paymentIntent"]
    assert pi["status"] == "REQUIRES_ACTION"
    assert pi["clientSecret"] is None  # never to a publishable key
    done = await public.data(
        AUTHENTICATE, {"input": {"id": intent["id"], "clientSecret": intent["clientSecret"], "succeed": succeed}}
    )
    pi = done["authenticatePaymentIntent"]["paymentIntent"]
    if succeed:
        assert pi["status"] == "SUCCEEDED" and pi["version"] == 5
    else:
        assert pi["status"] == "FAILED"
        assert pi["lastPaymentError"]["code"] == "payment_intent_authentication_failure"


@pytest.mark.parametrize(
    ("card_input", "field"),
    [
        (card("4242424242424241"), "number"),
        (card(exp_year=2020), "expYear"),
        (card(cvc="12"), "cvc"),
    ],
)
async def test_invalid_card_is_a_user_error_and_no_attempt(
    merchant: dict[str, Any], card_input: dict[str, object], field: str
) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    data = await client.data(PROCESS, {"input": {"id": intent["id"], "card": card_input}, "key": key()})
    errors = data["processPaymentIntent"]["userErrors"]
    assert errors[0]["code"] == "INVALID_CARD"
    assert "4242424242424241" not in str(errors)
    after = (await client.data(GET, {"id": intent["id"]}))["paymentIntent"]
    assert after["status"] == "CREATED" and after["version"] == 1


async def test_cancel_rules(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    intent = await create_intent(client)
    canceled = await client.data(CANCEL, {"input": {"id": intent["id"], "reason": "requested_by_customer"}})
    assert canceled["cancelPaymentIntent"]["paymentIntent"]["status"] == "CANCELED"
    again = await client.data(CANCEL, {"input": {"id": intent["id"]}})
    assert again["cancelPaymentIntent"]["userErrors"][0]["code"] == "INVALID_STATE"
    succeeded = await create_intent(client)
    await process_intent(client, succeeded["id"])
    refused = await client.data(CANCEL, {"input": {"id": succeeded["id"]}})
    assert refused["cancelPaymentIntent"]["userErrors"][0]["code"] == "INVALID_STATE"


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        (0, "usd", "AMOUNT_TOO_SMALL"),
        (-100, "usd", "AMOUNT_TOO_SMALL"),
        (49, "usd", "AMOUNT_TOO_SMALL"),
        (100_000_000, "usd", "AMOUNT_TOO_LARGE"),
        (1000, "xyz", "UNSUPPORTED_CURRENCY"),
    ],
)
async def test_create_validation(merchant: dict[str, Any], amount: int, currency: str, code: str) -> None:
    data = await merchant["client"].data(CREATE, {"input": {"amount": amount, "currency": currency}, "key": key()})
    assert data["createPaymentIntent"]["userErrors"][0]["code"] == code
    assert data["createPaymentIntent"]["paymentIntent"] is None


async def test_currency_exponents(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    jpy = await create_intent(client, 500, "JPY")
    assert jpy["currency"] == "jpy"
    kwd = await create_intent(client, 500, "kwd")
    assert kwd["amount"] == 500


async def test_canceling_a_three_d_secure_intent_purges_its_card(merchant: dict[str, Any], database_url: str) -> None:
    import asyncpg

    client = merchant["client"]
    intent = await create_intent(client)
    pi = (await process_intent(client, intent["id"], "4000002760003184"))["paymentIntent"]
    assert pi["status"] == "REQUIRES_ACTION"
    canceled = await client.data(CANCEL, {"input": {"id": intent["id"]}})
    assert canceled["cancelPaymentIntent"]["paymentIntent"]["status"] == "CANCELED"
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        row = await conn.fetchrow(
            "SELECT outcome, card_ciphertext FROM payment_attempts WHERE payment_intent_id = $1", intent["id"]
        )
    finally:
        await conn.close()
    assert row["outcome"] == "canceled" and row["card_ciphertext"] is None
    late = await client.data(AUTHENTICATE, {"input": {"id": intent["id"], "succeed": True}})
    assert late["authenticatePaymentIntent"]["userErrors"][0]["code"] == "INVALID_STATE"
