"""Set-up through the public API: a merchant, its keys, a webhook endpoint."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.loadgen import Connection

SIGNUP = "mutation($i:SignupMerchantInput!){signupMerchant(input:$i){merchant{id} secretKey userErrors{code message}}}"
CREATE_ENDPOINT = (
    "mutation($i:CreateWebhookEndpointInput!){createWebhookEndpoint(input:$i)"
    "{webhookEndpoint{id} secret userErrors{code message}}}"
)
DELETE_ENDPOINT = "mutation($i:DeleteWebhookEndpointInput!){deleteWebhookEndpoint(input:$i){userErrors{code message}}}"


@dataclass(frozen=True)
class Merchant:
    id: str
    secret_key: str


async def graphql(conn: Connection, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    status, raw = await conn.post(json.dumps({"query": query, "variables": variables}))
    body: dict[str, Any] = json.loads(raw)
    if status != 200 or body.get("errors"):
        raise RuntimeError(f"set-up request failed (HTTP {status}): {body.get('errors')}")
    data: dict[str, Any] = body["data"]
    return data


async def signup(host: str, port: int, name: str) -> Merchant:
    conn = Connection(host, port, None)
    try:
        data = await graphql(conn, SIGNUP, {"i": {"name": name, "email": f"{uuid.uuid4().hex[:10]}@bench.test"}})
    finally:
        await conn.close()
    payload = data["signupMerchant"]
    if payload["userErrors"]:
        raise RuntimeError(f"signup failed: {payload['userErrors']}")
    return Merchant(id=payload["merchant"]["id"], secret_key=payload["secretKey"])


async def create_endpoint(host: str, port: int, merchant: Merchant, url: str, events: list[str]) -> tuple[str, str]:
    """A webhook endpoint; returns its id and its whsec_ secret."""
    conn = Connection(host, port, merchant.secret_key)
    try:
        data = await graphql(conn, CREATE_ENDPOINT, {"i": {"url": url, "enabledEvents": events}})
    finally:
        await conn.close()
    payload = data["createWebhookEndpoint"]
    if payload["userErrors"]:
        raise RuntimeError(f"createWebhookEndpoint failed: {payload['userErrors']}")
    return payload["webhookEndpoint"]["id"], payload["secret"]


async def delete_endpoint(host: str, port: int, merchant: Merchant, endpoint_id: str) -> None:
    conn = Connection(host, port, merchant.secret_key)
    try:
        data = await graphql(conn, DELETE_ENDPOINT, {"i": {"id": endpoint_id}})
    finally:
        await conn.close()
    if data["deleteWebhookEndpoint"]["userErrors"]:
        raise RuntimeError(f"deleteWebhookEndpoint failed: {data['deleteWebhookEndpoint']['userErrors']}")


async def created_intents(dsn: str, merchant_id: str) -> list[str]:
    """Intents of this merchant still CREATED: scenario (a) leaves them for scenario (b)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id FROM payment_intents WHERE merchant_id = $1 AND status = 'CREATED' ORDER BY created_at",
            merchant_id,
        )
    finally:
        await conn.close()
    return [r["id"] for r in rows]
