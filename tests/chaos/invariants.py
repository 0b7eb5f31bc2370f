"""Money and state invariants checked directly in the database (not through the API)."""

from __future__ import annotations

import asyncpg

# Intent states that must come with a resolved attempt: the bank was asked and answered.
DECIDED = {"REQUIRES_CAPTURE", "SUCCEEDED", "FAILED", "REQUIRES_ACTION"}


def dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def money_violations(conn: asyncpg.Connection, merchant_id: str) -> list[str]:
    """Every way the merchant's intents break a money rule; empty when all hold."""
    rows = await conn.fetch(
        """
        SELECT pi.id, pi.status, pi.amount, pi.amount_capturable, pi.amount_received, pi.amount_refunded,
               COALESCE((SELECT sum(r.amount) FROM refunds r WHERE r.payment_intent_id = pi.id), 0) AS refunds
        FROM payment_intents pi WHERE pi.merchant_id = $1
        """,
        merchant_id,
    )
    problems = []
    for r in rows:
        if not r["amount_refunded"] <= r["amount_received"] <= r["amount"]:
            problems.append(f"{r['id']}: refunded {r['amount_refunded']} received {r['amount_received']}")
        if r["amount_capturable"] < 0:
            problems.append(f"{r['id']}: capturable {r['amount_capturable']}")
        if r["refunds"] != r["amount_refunded"]:
            problems.append(f"{r['id']}: refund rows sum {r['refunds']} != amount_refunded {r['amount_refunded']}")
        if r["status"] == "SUCCEEDED" and r["amount_received"] <= 0:
            problems.append(f"{r['id']}: SUCCEEDED without money received")
        if r["status"] != "REQUIRES_CAPTURE" and r["amount_capturable"] != 0:
            problems.append(f"{r['id']}: {r['status']} still capturable {r['amount_capturable']}")
    return problems


async def status_violations(conn: asyncpg.Connection, merchant_id: str) -> list[str]:
    """Intents whose status does not follow from their attempts (and the bank's record)."""
    rows = await conn.fetch(
        """
        SELECT pi.id, pi.status,
               (SELECT count(*) FROM payment_attempts a WHERE a.payment_intent_id = pi.id) AS attempts,
               (SELECT count(*) FROM payment_attempts a WHERE a.payment_intent_id = pi.id
                  AND a.outcome IN ('pending', 'authenticating')) AS in_flight,
               (SELECT a.outcome FROM payment_attempts a WHERE a.payment_intent_id = pi.id
                  ORDER BY a.created_at DESC, a.id DESC LIMIT 1) AS last_outcome,
               (SELECT count(*) FROM payment_attempts a WHERE a.payment_intent_id = pi.id
                  AND a.outcome NOT IN ('pending', 'authenticating')
                  AND NOT EXISTS (SELECT 1 FROM bank_authorizations b WHERE b.attempt_id = a.id)) AS unbanked
        FROM payment_intents pi WHERE pi.merchant_id = $1
        """,
        merchant_id,
    )
    expected_outcome = {
        "SUCCEEDED": {"approved"},
        "REQUIRES_CAPTURE": {"approved"},
        "FAILED": {"declined", "blocked"},
        "REQUIRES_ACTION": {"requires_action"},
    }
    problems = []
    for r in rows:
        status = r["status"]
        if status == "CREATED" and r["attempts"]:
            problems.append(f"{r['id']}: CREATED with {r['attempts']} attempts")
        if status == "PROCESSING" and r["in_flight"] != 1:
            problems.append(f"{r['id']}: PROCESSING with {r['in_flight']} attempts in flight")
        if status in expected_outcome and r["last_outcome"] not in expected_outcome[status]:
            problems.append(f"{r['id']}: {status} but last attempt {r['last_outcome']}")
        if r["in_flight"] > 1:
            problems.append(f"{r['id']}: {r['in_flight']} attempts in flight at once")
        if r["unbanked"]:
            problems.append(f"{r['id']}: {r['unbanked']} resolved attempts without a bank decision")
    return problems
