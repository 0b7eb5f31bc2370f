"""Webhook endpoint mutations over HTTP: validation, ownership, idempotency, secrets at rest."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from nexus.db.dsn import asyncpg_dsn
from tests.conftest import ServerProcess
from tests.webhooks.conftest import signup
from tests.webhooks.flows import create_endpoint
from tests.webhooks.gql import CREATE_ENDPOINT, DELETE_ENDPOINT, ENDPOINTS, REQUEUE, ROTATE, UPDATE_ENDPOINT

NODE = "query($id: ID!) { node(id: $id) { id ... on WebhookEndpoint { url disabled } } }"


async def _create_errors(client: Any, input: dict[str, Any]) -> list[dict[str, Any]]:
    payload = (await client.data(CREATE_ENDPOINT, {"input": input}))["createWebhookEndpoint"]
    assert payload["webhookEndpoint"] is None and payload["secret"] is None
    errors: list[dict[str, Any]] = payload["userErrors"]
    return errors


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/hook", "INVALID_URL"),
        ("javascript:alert(1)", "INVALID_URL"),
        ("https://user:pw@example.com/hook", "INVALID_URL"),
        ("not a url", "INVALID_URL"),
        ("", "INVALID_URL"),
    ],
)
async def test_bad_urls_are_refused(shop: dict[str, Any], url: str, code: str) -> None:
    errors = await _create_errors(shop["client"], {"url": url})
    assert errors[0]["code"] == code and errors[0]["field"] == ["input", "url"]
    assert (await shop["client"].data(ENDPOINTS))["webhookEndpoints"] == []


async def test_bad_event_types_and_descriptions_are_refused(shop: dict[str, Any]) -> None:
    client = shop["client"]
    for bad in ([], ["payment_intent.nonsense"], ["charge.*"]):
        errors = await _create_errors(client, {"url": "http://127.0.0.1:9/x", "enabledEvents": bad})
        assert errors[0]["code"] == "INVALID_INPUT" and errors[0]["field"] == ["input", "enabledEvents"]
    errors = await _create_errors(client, {"url": "http://127.0.0.1:9/x", "description": "d" * 501})
    assert errors[0]["code"] == "INVALID_INPUT"
    assert (await client.data(ENDPOINTS))["webhookEndpoints"] == []


async def test_publishable_key_is_forbidden(shop: dict[str, Any]) -> None:
    body = await shop["public"].raw(CREATE_ENDPOINT, {"input": {"url": "http://127.0.0.1:9/x"}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await shop["public"].raw(ENDPOINTS)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_update_delete_and_ownership(shop: dict[str, Any], hook_http: httpx.AsyncClient) -> None:
    client = shop["client"]
    endpoint, _ = await create_endpoint(client, "http://127.0.0.1:9/a", ["payment_intent.*"])
    found = (await client.data(NODE, {"id": endpoint["id"]}))["node"]
    assert found == {"id": endpoint["id"], "url": "http://127.0.0.1:9/a", "disabled": False}

    changed = await client.data(
        UPDATE_ENDPOINT,
        {"input": {"id": endpoint["id"], "url": "http://127.0.0.1:9/b", "enabledEvents": ["refund.created"]}},
    )
    updated = changed["updateWebhookEndpoint"]["webhookEndpoint"]
    assert updated["url"] == "http://127.0.0.1:9/b" and updated["enabledEvents"] == ["refund.created"]
    bad = await client.data(UPDATE_ENDPOINT, {"input": {"id": endpoint["id"], "url": "ftp://x"}})
    assert bad["updateWebhookEndpoint"]["userErrors"][0]["code"] == "INVALID_URL"

    # Another merchant sees nothing and can change nothing.
    other = (await signup(hook_http))["client"]
    assert (await other.data(NODE, {"id": endpoint["id"]}))["node"] is None
    for document, input in (
        (UPDATE_ENDPOINT, {"id": endpoint["id"], "disabled": True}),
        (DELETE_ENDPOINT, {"id": endpoint["id"]}),
        (ROTATE, {"id": endpoint["id"]}),
        (REQUEUE, {"endpointId": endpoint["id"], "since": "2020-01-01T00:00:00Z"}),
    ):
        payload = next(iter((await other.data(document, {"input": input})).values()))
        assert payload["userErrors"][0]["code"] == "NOT_FOUND"
    [still] = (await client.data(ENDPOINTS))["webhookEndpoints"]
    assert still["disabled"] is False

    deleted = await client.data(DELETE_ENDPOINT, {"input": {"id": endpoint["id"]}})
    assert deleted["deleteWebhookEndpoint"]["userErrors"] == []
    assert (await client.data(ENDPOINTS))["webhookEndpoints"] == []
    again = await client.data(DELETE_ENDPOINT, {"input": {"id": endpoint["id"]}})
    assert again["deleteWebhookEndpoint"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_rotation_overlap_is_bounded(shop: dict[str, Any]) -> None:
    endpoint, _ = await create_endpoint(shop["client"], "http://127.0.0.1:9/r")
    for bad in (-1, 8 * 24 * 3600):
        payload = (await shop["client"].data(ROTATE, {"input": {"id": endpoint["id"], "expireCurrentInSeconds": bad}}))[
            "rotateWebhookSecret"
        ]
        assert payload["secret"] is None and payload["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_idempotent_create_replays_without_the_secret(shop: dict[str, Any], hook_db_url: str) -> None:
    client = shop["client"]
    key = uuid.uuid4().hex
    input = {"url": "http://127.0.0.1:9/idem", "description": "orders"}
    first = (await client.data(CREATE_ENDPOINT, {"input": input, "key": key}))["createWebhookEndpoint"]
    replay = (await client.data(CREATE_ENDPOINT, {"input": input, "key": key}))["createWebhookEndpoint"]
    assert replay["idempotentReplayed"] is True and first["idempotentReplayed"] is False
    assert replay["webhookEndpoint"]["id"] == first["webhookEndpoint"]["id"]
    assert replay["secret"] is None and first["secret"].startswith("whsec_")
    reused = (await client.data(CREATE_ENDPOINT, {"input": {"url": "http://127.0.0.1:9/other"}, "key": key}))[
        "createWebhookEndpoint"
    ]
    assert reused["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len((await client.data(ENDPOINTS))["webhookEndpoints"]) == 1

    # At rest: neither the stored response nor the secret table holds the plaintext secret.
    secret = first["secret"]
    key_bytes = base64.b64decode(secret.removeprefix("whsec_"))
    conn = await asyncpg.connect(asyncpg_dsn(hook_db_url))
    try:
        stored = await conn.fetchval("SELECT response::text FROM idempotency_keys WHERE key = $1", key)
        blobs = await conn.fetch(
            "SELECT ciphertext FROM webhook_secrets WHERE endpoint_id = $1", first["webhookEndpoint"]["id"]
        )
    finally:
        await conn.close()
    assert "whsec_" not in stored and secret not in stored
    assert len(blobs) == 1
    assert secret.encode() not in blobs[0]["ciphertext"] and key_bytes not in blobs[0]["ciphertext"]


@pytest.fixture(scope="module")
def production_server(hook_db_url: str) -> Iterator[ServerProcess]:
    env = {
        "NEXUS_ENV": "production",
        "NEXUS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        # Its master key differs from the other servers' on this database: it must not dispatch.
        "NEXUS_RUN_DISPATCHER": "false",
    }
    server = ServerProcess(hook_db_url, env=env).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://[::1]/hook"],
)
async def test_production_refuses_private_targets(production_server: ServerProcess, url: str) -> None:
    async with httpx.AsyncClient(base_url=production_server.url, timeout=30) as http:
        client = (await signup(http))["client"]
        errors = await _create_errors(client, {"url": url})
        assert errors[0]["code"] == "INVALID_URL"
        assert "127.0.0.1" not in errors[0]["message"]
        # ftp:// is refused in every mode.
        assert (await _create_errors(client, {"url": "ftp://example.com/x"}))[0]["code"] == "INVALID_URL"
