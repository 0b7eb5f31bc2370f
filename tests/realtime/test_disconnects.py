"""However a subscriber goes away, the server keeps no subscriber, queue or task for it.

`nexus_realtime_subscribers` counts registered subscribers; a subscriber is registered for
exactly as long as its stream's generator runs (inside the operation's task), so the gauge
returning to its previous value means the queue and the task are gone too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError
from websockets.asyncio.client import connect

from tests.api.flows import create_intent
from tests.conftest import ServerProcess
from tests.realtime.clients import (
    INTENT_UPDATED,
    gauge,
    receive,
    sse_messages,
    subscribe,
    wait_for_gauge,
    ws_session,
    ws_url,
)

GAUGE = "nexus_realtime_subscribers"


async def test_normal_close_leaves_nothing(
    live_server: ServerProcess, http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    intent = await create_intent(merchant["client"])
    before = await gauge(http, GAUGE)
    async with ws_session(live_server.url, merchant["secretKey"]) as session:
        streams = [subscribe(session, INTENT_UPDATED, {"id": intent["id"]}) for _ in range(3)]
        for stream in streams:
            await receive(stream)
        assert await gauge(http, GAUGE) == before + 3
        await streams[0].aclose()  # `complete` for one operation, the connection stays
        await wait_for_gauge(http, GAUGE, before + 2)
    await wait_for_gauge(http, GAUGE, before)


async def test_abrupt_tcp_drop_leaves_nothing(
    live_server: ServerProcess, http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    intent = await create_intent(merchant["client"])
    before = await gauge(http, GAUGE)
    ws = await connect(ws_url(live_server.url), subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": merchant["secretKey"]}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    for n in range(2):
        subscribe_message = {"id": str(n), "type": "subscribe", "payload": {"query": INTENT_UPDATED}}
        subscribe_message["payload"]["variables"] = {"id": intent["id"]}  # type: ignore[index]
        await ws.send(json.dumps(subscribe_message))
        assert json.loads(await ws.recv())["type"] == "next"
    assert await gauge(http, GAUGE) == before + 2
    ws.transport.abort()  # no close frame: the TCP connection just goes away
    await wait_for_gauge(http, GAUGE, before)


async def test_sse_client_gone_leaves_nothing(http: httpx.AsyncClient, merchant: dict[str, Any]) -> None:
    intent = await create_intent(merchant["client"])
    before = await gauge(http, GAUGE)
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as own:
        stream = sse_messages(own, merchant["secretKey"], INTENT_UPDATED, {"id": intent["id"]})
        assert (await receive(stream))["data"]["paymentIntentUpdated"]["version"] == 1
        assert await gauge(http, GAUGE) == before + 1
        await stream.aclose()  # closes the response: the server sees the client go
    await wait_for_gauge(http, GAUGE, before)


async def test_subscriptions_per_connection_are_capped(live_server: ServerProcess, merchant: dict[str, Any]) -> None:
    from nexus.schema.app import MAX_SUBSCRIPTIONS_PER_CONNECTION

    intent = await create_intent(merchant["client"])
    async with ws_session(live_server.url, merchant["secretKey"]) as session:
        streams = [
            subscribe(session, INTENT_UPDATED, {"id": intent["id"]}) for _ in range(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        ]
        await asyncio.gather(*(receive(s) for s in streams))
        over = subscribe(session, INTENT_UPDATED, {"id": intent["id"]})
        with pytest.raises(TransportQueryError, match="limit"):
            await receive(over)
