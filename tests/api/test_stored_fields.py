"""Every field a mutation writes reads back the same from a fresh query (the repositories
write some statements as prebuilt Core statements with parameters: a misnamed key would be
dropped silently, so this reads each one back)."""

from __future__ import annotations

from typing import Any

from tests.api.flows import create_intent, key, process_intent
from tests.api.gql import PROCESS, card

READ = """
query($id: ID!) { paymentIntent(id: $id) {
  id status amount currency captureMethod amountCapturable amountReceived amountRefunded version
  description metadata cancellationReason lastPaymentError { code declineCode message }
  attempts { cardLast4 cardBrand outcome declineCode riskLevel riskScore networkStatus }
} }"""


async def test_created_intent_reads_back_every_field(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    created = await create_intent(
        client,
        amount=1234,
        currency="EUR",
        captureMethod="MANUAL",
        description="order 42",
        metadata={"order": "42", "note": "ünïcode"},
    )
    got = (await client.data(READ, {"id": created["id"]}))["paymentIntent"]
    assert got["amount"] == 1234 and got["currency"] == "eur" and got["captureMethod"] == "MANUAL"
    assert got["description"] == "order 42"
    assert got["metadata"] == {"order": "42", "note": "ünïcode"}
    assert got["status"] == "CREATED" and got["version"] == created["version"]


async def test_processed_intent_reads_back_its_attempt_and_decision(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    created = await create_intent(client, captureMethod="MANUAL")
    payload = await process_intent(client, created["id"])
    assert payload["paymentIntent"]["status"] == "REQUIRES_CAPTURE"
    got = (await client.data(READ, {"id": created["id"]}))["paymentIntent"]
    assert got["status"] == "REQUIRES_CAPTURE" and got["amountCapturable"] == created["amount"]
    assert got["version"] == payload["paymentIntent"]["version"]
    [attempt] = got["attempts"]
    assert attempt["cardLast4"] == "4242" and attempt["cardBrand"] == "visa" and attempt["outcome"] == "approved"


async def test_declined_intent_reads_back_its_error(merchant: dict[str, Any]) -> None:
    client = merchant["client"]
    created = await create_intent(client)
    variables = {"input": {"id": created["id"], "card": card("4000000000000002")}, "key": key()}
    declined = (await client.data(PROCESS, variables))["processPaymentIntent"]["paymentIntent"]
    got = (await client.data(READ, {"id": created["id"]}))["paymentIntent"]
    assert got["status"] == "FAILED"
    assert (
        got["lastPaymentError"] == declined["lastPaymentError"] and got["lastPaymentError"]["code"] == "card_declined"
    )
    assert got["attempts"][0]["declineCode"] == declined["lastPaymentError"]["declineCode"]
