"""Racing mutations on one intent against the live server: one winner, typed losers, money intact.

Each race fires its requests together (asyncio.gather over one HTTP client with
a connection per request) and then checks the database directly: the API's
answers could hide a double capture, the rows cannot.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import asyncpg
import pytest

from tests.api.flows import create_intent, key, process_intent
from tests.api.gql import CANCEL, CAPTURE, CREATE, PROCESS, REFUND, card
from tests.chaos.invariants import dsn, money_violations, status_violations
from tests.conftest import GraphQLClient

# Requests fired at once for the same-key race: enough to overlap on 2 cores, more than the pool's 10.
SAME_KEY_RACERS = 12
# Rounds of each race: a race that happens to serialize proves little, several rounds catch interleavings.
ROUNDS = 3


@pytest.fixture
async def db(database_url: str) -> Any:
    conn = await asyncpg.connect(dsn(database_url))
    try:
        yield conn
    finally:
        await conn.close()


async def _check_invariants(db: asyncpg.Connection, merchant_id: str) -> None:
    assert await money_violations(db, merchant_id) == []
    assert await status_violations(db, merchant_id) == []


def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def _manual_authorized(client: GraphQLClient, amount: int = 5000) -> str:
    intent = await create_intent(client, amount, captureMethod="MANUAL")
    payload = await process_intent(client, intent["id"])
    assert payload["paymentIntent"]["status"] == "REQUIRES_CAPTURE"
    return str(intent["id"])


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_capture_races_cancel(merchant: dict[str, Any], db: asyncpg.Connection, round_: int) -> None:
    client = merchant["client"]
    intent_id = await _manual_authorized(client)
    captured, canceled = await asyncio.gather(
        client.data(CAPTURE, {"input": {"id": intent_id}, "key": key()}),
        client.data(CANCEL, {"input": {"id": intent_id}, "key": key()}),
    )
    cap, can = captured["capturePaymentIntent"], canceled["cancelPaymentIntent"]
    winners = [p for p in (cap, can) if not p["userErrors"]]
    losers = [p for p in (cap, can) if p["userErrors"]]
    assert len(winners) == 1 and len(losers) == 1, (cap, can)
    assert _codes(losers[0]) == ["INVALID_STATE"]
    row = await db.fetchrow(
        "SELECT status, amount_received, amount_capturable FROM payment_intents WHERE id=$1", intent_id
    )
    if cap is winners[0]:
        assert (row["status"], row["amount_received"], row["amount_capturable"]) == ("SUCCEEDED", 5000, 0)
    else:
        assert (row["status"], row["amount_received"], row["amount_capturable"]) == ("CANCELED", 0, 0)
    await _check_invariants(db, merchant["id"])


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_two_captures_capture_once(merchant: dict[str, Any], db: asyncpg.Connection, round_: int) -> None:
    client = merchant["client"]
    intent_id = await _manual_authorized(client)
    results = await asyncio.gather(
        *(client.data(CAPTURE, {"input": {"id": intent_id, "amountToCapture": 3000}, "key": key()}) for _ in range(2))
    )
    payloads = [r["capturePaymentIntent"] for r in results]
    assert sorted(len(p["userErrors"]) for p in payloads) == [0, 1]
    assert [c for p in payloads for c in _codes(p)] == ["INVALID_STATE"]
    received = await db.fetchval("SELECT amount_received FROM payment_intents WHERE id=$1", intent_id)
    assert received == 3000
    await _check_invariants(db, merchant["id"])


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_refunds_exceeding_amount_race(merchant: dict[str, Any], db: asyncpg.Connection, round_: int) -> None:
    client = merchant["client"]
    intent = await create_intent(client, 5000)
    assert (await process_intent(client, intent["id"]))["paymentIntent"]["status"] == "SUCCEEDED"
    results = await asyncio.gather(
        *(client.data(REFUND, {"input": {"id": intent["id"], "amount": 3000}, "key": key()}) for _ in range(2))
    )
    payloads = [r["refundPaymentIntent"] for r in results]
    assert sorted(len(p["userErrors"]) for p in payloads) == [0, 1]
    assert [c for p in payloads for c in _codes(p)] == ["REFUND_EXCEEDS_AMOUNT"]
    refunded = await db.fetchval("SELECT amount_refunded FROM payment_intents WHERE id=$1", intent["id"])
    refunds = await db.fetchval("SELECT count(*) FROM refunds WHERE payment_intent_id=$1", intent["id"])
    assert (refunded, refunds) == (3000, 1)
    await _check_invariants(db, merchant["id"])


async def test_many_small_refunds_never_over_refund(merchant: dict[str, Any], db: asyncpg.Connection) -> None:
    client = merchant["client"]
    intent = await create_intent(client, 1000)
    await process_intent(client, intent["id"])
    # 8 refunds of 300 against 1000: exactly 3 fit, whatever the interleaving.
    results = await asyncio.gather(
        *(client.data(REFUND, {"input": {"id": intent["id"], "amount": 300}, "key": key()}) for _ in range(8))
    )
    codes = Counter(c for r in results for c in _codes(r["refundPaymentIntent"]) or ["OK"])
    assert codes == Counter({"OK": 3, "REFUND_EXCEEDS_AMOUNT": 5})
    assert await db.fetchval("SELECT amount_refunded FROM payment_intents WHERE id=$1", intent["id"]) == 900
    await _check_invariants(db, merchant["id"])


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_process_from_two_clients(merchant: dict[str, Any], db: asyncpg.Connection, round_: int) -> None:
    """The secret key and the browser's publishable key process the same intent at once."""
    intent = await create_intent(merchant["client"], 2000)
    browser_input = {"id": intent["id"], "clientSecret": intent["clientSecret"], "card": card()}
    server, browser = await asyncio.gather(
        merchant["client"].data(PROCESS, {"input": {"id": intent["id"], "card": card()}, "key": key()}),
        merchant["public"].data(PROCESS, {"input": browser_input, "key": key()}),
    )
    payloads = [server["processPaymentIntent"], browser["processPaymentIntent"]]
    assert sorted(len(p["userErrors"]) for p in payloads) == [0, 1], payloads
    assert [c for p in payloads for c in _codes(p)] == ["INVALID_STATE"]
    attempts = await db.fetchval("SELECT count(*) FROM payment_attempts WHERE payment_intent_id=$1", intent["id"])
    decisions = await db.fetchval(
        "SELECT count(*) FROM bank_authorizations b JOIN payment_attempts a ON a.id = b.attempt_id "
        "WHERE a.payment_intent_id=$1",
        intent["id"],
    )
    assert (attempts, decisions) == (1, 1)
    status = await db.fetchval("SELECT status FROM payment_intents WHERE id=$1", intent["id"])
    assert status == "SUCCEEDED"
    await _check_invariants(db, merchant["id"])


async def test_same_create_key_fired_concurrently_creates_once(
    merchant: dict[str, Any], db: asyncpg.Connection
) -> None:
    client = merchant["client"]
    shared = f"race-{uuid.uuid4().hex}"
    variables = {"input": {"amount": 1500, "currency": "usd"}, "key": shared}
    results = await asyncio.gather(*(client.data(CREATE, variables) for _ in range(SAME_KEY_RACERS)))
    payloads = [r["createPaymentIntent"] for r in results]
    executed = [p for p in payloads if not p["userErrors"] and not p["idempotentReplayed"]]
    replayed = [p for p in payloads if p["idempotentReplayed"]]
    in_use = [p for p in payloads if _codes(p) == ["IDEMPOTENCY_KEY_IN_USE"]]
    assert len(executed) == 1
    assert len(executed) + len(replayed) + len(in_use) == SAME_KEY_RACERS
    assert {p["paymentIntent"]["id"] for p in executed + replayed} == {executed[0]["paymentIntent"]["id"]}
    count = await db.fetchval(
        "SELECT count(*) FROM payment_intents WHERE merchant_id=$1 AND amount=1500", merchant["id"]
    )
    assert count == 1
    events = await db.fetchval(
        "SELECT count(*) FROM events WHERE payment_intent_id=$1", executed[0]["paymentIntent"]["id"]
    )
    assert events == 1


async def test_same_process_key_fired_concurrently_asks_bank_once(
    merchant: dict[str, Any], db: asyncpg.Connection
) -> None:
    client = merchant["client"]
    intent = await create_intent(client, 2500)
    variables = {"input": {"id": intent["id"], "card": card()}, "key": f"race-{uuid.uuid4().hex}"}
    results = await asyncio.gather(*(client.data(PROCESS, variables) for _ in range(SAME_KEY_RACERS)))
    payloads = [r["processPaymentIntent"] for r in results]
    executed = [p for p in payloads if not p["userErrors"] and not p["idempotentReplayed"]]
    replayed = [p for p in payloads if p["idempotentReplayed"]]
    in_use = [p for p in payloads if _codes(p) == ["IDEMPOTENCY_KEY_IN_USE"]]
    assert len(executed) == 1, payloads
    assert len(executed) + len(replayed) + len(in_use) == SAME_KEY_RACERS, payloads
    assert all(p["paymentIntent"]["status"] == "SUCCEEDED" for p in replayed)
    attempts = await db.fetchval("SELECT count(*) FROM payment_attempts WHERE payment_intent_id=$1", intent["id"])
    assert attempts == 1
    await _check_invariants(db, merchant["id"])


async def test_check_constraints_refuse_broken_money(merchant: dict[str, Any], db: asyncpg.Connection) -> None:
    """Even a buggy code path cannot commit impossible money: PostgreSQL refuses the row."""
    client = merchant["client"]
    intent = await create_intent(client, 1000)
    await process_intent(client, intent["id"])
    breaking = {
        "pi_refunded_le_received": "amount_refunded = amount_received + 1",
        "pi_received_le_amount": "amount_received = amount + 1",
        "pi_capturable_range": "amount_capturable = -1",
        "pi_amount_positive": "amount = 0",
        "pi_status": "status = 'PAID'",
    }
    for constraint, assignment in breaking.items():
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await db.execute(f"UPDATE payment_intents SET {assignment} WHERE id=$1", intent["id"])
        assert caught.value.constraint_name == constraint
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO refunds (id, merchant_id, payment_intent_id, amount, currency, status) "
            "VALUES ('re_bad', $1, $2, -5, 'usd', 'succeeded')",
            merchant["id"],
            intent["id"],
        )
    row = await db.fetchrow("SELECT amount_received, amount_refunded FROM payment_intents WHERE id=$1", intent["id"])
    assert (row["amount_received"], row["amount_refunded"]) == (1000, 0)
