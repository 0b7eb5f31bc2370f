"""events(types), fan-out across two server processes, and surviving a killed LISTEN connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError

from nexus.realtime.broker import APPLICATION_NAME
from tests.api.flows import create_intent, key, process_intent
from tests.conftest import GraphQLClient, ServerProcess
from tests.realtime.clients import (
    EVENTS,
    INTENT_UPDATED,
    gauge,
    receive,
    subscribe,
    wait_for_gauge,
    ws_session,
)

SHOP_ORIGIN = "https://shop.example"


@pytest.fixture(scope="module")
def server_b(database_url: str) -> Iterator[ServerProcess]:
    """A second API process on the same database (its own broker and LISTEN connection)."""
    server = ServerProcess(database_url, env={"NEXUS_ALLOWED_ORIGINS": SHOP_ORIGIN}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client_b(server_b: ServerProcess, merchant: dict[str, Any]) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=server_b.url, timeout=30) as http:
        yield GraphQLClient(http, merchant["secretKey"])


async def test_events_filters_by_type(
    live_server: ServerProcess, http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    before = await gauge(http, "nexus_realtime_subscribers")
    async with ws_session(live_server.url, merchant["secretKey"]) as session:
        everything = subscribe(session, EVENTS, {})
        succeeded_only = subscribe(session, EVENTS, {"types": ["payment_intent.succeeded"]})
        # gql sends `subscribe` on the first read; events stream "from now on", so wait until
        # both are registered before causing any.
        first_any = asyncio.create_task(receive(everything))
        first_succeeded = asyncio.create_task(receive(succeeded_only))
        await wait_for_gauge(http, "nexus_realtime_subscribers", before + 2)
        intent = await create_intent(merchant["client"])
        await process_intent(merchant["client"], intent["id"])
        all_types = [(await first_any)["events"]] + [(await receive(everything))["events"] for _ in range(2)]
        filtered = (await first_succeeded)["events"]
    assert [(e["type"], e["paymentIntentId"]) for e in all_types] == [
        ("payment_intent.created", intent["id"]),
        ("payment_intent.processing", intent["id"]),
        ("payment_intent.succeeded", intent["id"]),
    ]
    assert filtered["type"] == "payment_intent.succeeded" and filtered["paymentIntentId"] == intent["id"]
    assert filtered["data"]["object"]["status"] == "succeeded"
    assert filtered["id"] == all_types[2]["id"]


async def test_events_needs_the_secret_key(live_server: ServerProcess, merchant: dict[str, Any]) -> None:
    async with ws_session(live_server.url, merchant["publishableKey"]) as session:
        with pytest.raises(TransportQueryError) as refused:
            await receive(subscribe(session, EVENTS, {}))
    assert refused.value.errors is not None and refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_subscriber_on_a_sees_mutations_sent_to_b(
    live_server: ServerProcess, merchant: dict[str, Any], client_b: GraphQLClient
) -> None:
    intent = await create_intent(client_b)
    async with ws_session(live_server.url, merchant["secretKey"]) as session:
        stream = subscribe(session, INTENT_UPDATED, {"id": intent["id"]})
        assert (await receive(stream))["paymentIntentUpdated"]["version"] == 1
        await process_intent(client_b, intent["id"])
        seen = [(await receive(stream))["paymentIntentUpdated"] for _ in range(2)]
    assert [(m["status"], m["version"]) for m in seen] == [("PROCESSING", 2), ("SUCCEEDED", 3)]


async def test_killed_listen_connection_loses_no_change(
    live_server: ServerProcess, http: httpx.AsyncClient, merchant: dict[str, Any], database_url: str
) -> None:
    intent = await create_intent(merchant["client"], captureMethod="MANUAL")
    reconnects = await gauge(http, "nexus_realtime_reconnects")
    async with ws_session(live_server.url, merchant["secretKey"]) as session:
        stream = subscribe(session, INTENT_UPDATED, {"id": intent["id"]})
        assert (await receive(stream))["paymentIntentUpdated"]["version"] == 1
        killed = await _terminate_listeners(database_url)
        assert killed >= 1
        # Committed while the broker may still be reconnecting: the resync must bring it.
        await process_intent(merchant["client"], intent["id"])
        seen = [(await receive(stream))["paymentIntentUpdated"] for _ in range(2)]
        assert [(m["status"], m["version"]) for m in seen] == [("PROCESSING", 2), ("REQUIRES_CAPTURE", 3)]
        await wait_for_gauge(http, "nexus_realtime_listening", 1)
        assert await gauge(http, "nexus_realtime_reconnects") > reconnects
        # And the new LISTEN connection carries the next change.
        captured = await merchant["client"].data(
            """mutation($input: CapturePaymentIntentInput!, $key: String!) {
                 capturePaymentIntent(input: $input, idempotencyKey: $key) { userErrors { code } } }""",
            {"input": {"id": intent["id"]}, "key": key()},
        )
        assert captured["capturePaymentIntent"]["userErrors"] == []
        final = (await receive(stream))["paymentIntentUpdated"]
    assert (final["status"], final["version"]) == ("SUCCEEDED", 4)


async def test_origins_restricted_by_config(server_b: ServerProcess, merchant: dict[str, Any]) -> None:
    intent_query = {"id": "pi_any"}
    with pytest.raises(TransportConnectionFailed):
        async with ws_session(server_b.url, merchant["secretKey"], headers={"Origin": "https://evil.example"}) as s:
            await receive(subscribe(s, INTENT_UPDATED, intent_query))
    async with ws_session(server_b.url, merchant["secretKey"], headers={"Origin": SHOP_ORIGIN}) as session:
        with pytest.raises(TransportQueryError) as refused:
            await receive(subscribe(session, INTENT_UPDATED, intent_query))
    assert refused.value.errors is not None and refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def _terminate_listeners(database_url: str) -> int:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
    finally:
        await conn.close()
    return sum(1 for row in rows if row[0])
