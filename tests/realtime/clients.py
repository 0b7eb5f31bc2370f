"""Real subscription clients for the tests: gql over WebSockets and SSE with httpx."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport

from tests.api.gql import INTENT_FIELDS

# Guard against a hang only (a broken server must fail the test, not stall the suite);
# nothing asserts how fast a message arrives.
RECEIVE_GUARD_S = 20.0
# How long a gauge may take to settle after a disconnect before the test gives up.
SETTLE_GUARD_S = 20.0

INTENT_UPDATED = f"""
subscription($id: ID!, $secret: String) {{
  paymentIntentUpdated(id: $id, clientSecret: $secret) {{ {INTENT_FIELDS} }}
}}"""

EVENTS = """
subscription($types: [String!]) { events(types: $types) { id type paymentIntentId data } }"""


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


def transport(
    base_url: str, key: str, *, payload_name: str = "authorization", headers: dict[str, str] | None = None
) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=ws_url(base_url),
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={payload_name: f"Bearer {key}"},
        headers=headers,
        # A test leaving its session with a subscription still open would otherwise wait gql's
        # default 10 s for it to end; the server side is checked by the disconnect tests.
        close_timeout=1,
    )


@asynccontextmanager
async def ws_session(base_url: str, key: str, **options: Any) -> AsyncIterator[AsyncClientSession]:
    async with Client(transport=transport(base_url, key, **options)) as session:
        yield session


def subscribe(session: AsyncClientSession, query: str, variables: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    return session.subscribe(GraphQLRequest(query, variable_values=variables))


async def receive(stream: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(anext(stream), RECEIVE_GUARD_S)


async def sse_messages(
    http: httpx.AsyncClient, key: str, query: str, variables: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    """POST /graphql with Accept: text/event-stream; yields each `next` payload."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    body = {"query": query, "variables": variables}
    async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "next":
                yield json.loads(line.split(":", 1)[1])
            elif line.startswith("data:") and event == "complete":
                return


async def gauge(http: httpx.AsyncClient, name: str) -> float:
    text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def wait_for_gauge(http: httpx.AsyncClient, name: str, expected: float) -> None:
    deadline = time.monotonic() + SETTLE_GUARD_S
    value = await gauge(http, name)
    while value != expected:
        assert time.monotonic() < deadline, f"{name} stayed {value}, expected {expected}"
        await asyncio.sleep(0.05)
        value = await gauge(http, name)


async def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + SETTLE_GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.02)
