"""Helpers driving webhook endpoints and reading deliveries through the API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.conftest import GraphQLClient
from tests.webhooks.gql import CREATE_ENDPOINT, EVENTS

# Deliveries here finish in well under a second; 20 s absorbs a loaded 2-core machine.
WAIT_S = 20.0


def name() -> str:
    """A receiver path of its own for each endpoint a test creates."""
    return f"ep-{uuid.uuid4().hex[:10]}"


async def create_endpoint(
    client: GraphQLClient, url: str, enabled_events: list[str] | None = None, key: str | None = None
) -> tuple[dict[str, Any], str]:
    variables: dict[str, Any] = {"input": {"url": url}, "key": key}
    if enabled_events is not None:
        variables["input"]["enabledEvents"] = enabled_events
    payload = (await client.data(CREATE_ENDPOINT, variables))["createWebhookEndpoint"]
    assert payload["userErrors"] == [], payload
    return payload["webhookEndpoint"], payload["secret"]


async def events(client: GraphQLClient, types: list[str] | None = None) -> list[dict[str, Any]]:
    data = await client.data(EVENTS, {"types": types, "first": 100})
    return [edge["node"] for edge in data["events"]["edges"]]


async def wait_until(
    client: GraphQLClient,
    done: Callable[[list[dict[str, Any]]], bool],
    types: list[str] | None = None,
    within: float = WAIT_S,
) -> list[dict[str, Any]]:
    """The merchant's events once `done(events)` holds; fails after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        nodes = await events(client, types)
        if done(nodes):
            return nodes
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached; events now: {nodes}")
        await asyncio.sleep(0.1)


def deliveries(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for node in nodes for d in node["deliveries"]]


def all_final(nodes: list[dict[str, Any]]) -> bool:
    found = deliveries(nodes)
    return bool(found) and all(d["status"] != "pending" for d in found)
