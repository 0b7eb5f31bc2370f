"""A real crash between the processing phases: SIGKILL the server while the bank is being asked.

The restarted server's recovery job re-drives the attempt; the client's retry with its key
replays the one result. Nothing is decided twice, nothing stays PROCESSING.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx

from tests.api.gql import CREATE, PROCESS, card
from tests.conftest import SIGNUP, ServerProcess

# The bank answers slowly enough that the kill surely lands between phase 1 and phase 2.
BANK_LATENCY_MS = "3000"
# Recovery after 1 s instead of 60 s, so the test sees it within seconds.
RECOVERY_AFTER_S = "1"
# Generous: the recovery job runs every 5 s on a loaded 2-core machine.
RECOVERY_DEADLINE_S = 30.0


def _post(server: ServerProcess, query: str, variables: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.post(
        f"{server.url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30
    )
    return response.json()


async def _fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def test_sigkill_between_phases_is_recovered(database_url: str) -> None:
    env = {"NEXUS_BANK_LATENCY_MS": BANK_LATENCY_MS, "NEXUS_RECOVERY_AFTER_SECONDS": RECOVERY_AFTER_S}
    server = ServerProcess(database_url, env=env).start()
    sk = _post(server, SIGNUP, {"input": {"name": "Kill", "email": "kill@x.test"}})["data"]["signupMerchant"][
        "secretKey"
    ]
    created = _post(server, CREATE, {"input": {"amount": 3100, "currency": "usd"}, "key": uuid.uuid4().hex}, sk)
    intent_id = created["data"]["createPaymentIntent"]["paymentIntent"]["id"]
    process_vars = {"input": {"id": intent_id, "card": card()}, "key": f"pay-{uuid.uuid4().hex}"}

    try:
        httpx.post(
            f"{server.url}/graphql",
            json={"query": PROCESS, "variables": process_vars},
            headers={"Authorization": f"Bearer {sk}"},
            timeout=1.0,
        )
    except httpx.TimeoutException:
        pass  # expected: the bank takes 3 s; we kill the server meanwhile
    server.kill()
    status = asyncio.run(_fetch(database_url, "SELECT status FROM payment_intents WHERE id = $1", intent_id))
    assert status[0]["status"] == "PROCESSING"  # phase 1 committed, phase 2 never ran

    restarted = ServerProcess(database_url, env=env).start()
    try:
        deadline = time.monotonic() + RECOVERY_DEADLINE_S
        while time.monotonic() < deadline:
            rows = asyncio.run(_fetch(database_url, "SELECT status FROM payment_intents WHERE id = $1", intent_id))
            if rows[0]["status"] != "PROCESSING":
                break
            time.sleep(0.5)
        assert rows[0]["status"] == "SUCCEEDED"
        retry = _post(restarted, PROCESS, process_vars, sk)["data"]["processPaymentIntent"]
        assert retry["idempotentReplayed"] is True and retry["paymentIntent"]["status"] == "SUCCEEDED"
        counts = asyncio.run(
            _fetch(
                database_url,
                "SELECT (SELECT count(*) FROM payment_attempts WHERE payment_intent_id = $1) AS attempts, "
                "(SELECT count(*) FROM bank_authorizations b JOIN payment_attempts a ON a.id = b.attempt_id "
                " WHERE a.payment_intent_id = $1) AS decisions",
                intent_id,
            )
        )
        assert (counts[0]["attempts"], counts[0]["decisions"]) == (1, 1)
    finally:
        restarted.stop()
