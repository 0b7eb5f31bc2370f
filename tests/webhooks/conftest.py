"""Fixtures for webhook delivery tests: their own database and server (short retry delays),
and a real HTTP receiver on loopback.

A database of their own keeps the session's main server (default retry
schedule, 5 s and more) from claiming these deliveries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from nexus.db import migrations
from tests.conftest import SIGNUP, GraphQLClient, ServerProcess, create_database
from tests.webhooks.receiver import Receiver

# Short retry delays so a delivery runs its whole schedule (3 attempts) in about a
# second; a short timeout so timeout tests and expired leases cost seconds.
HOOK_ENV = {
    "NEXUS_WEBHOOK_RETRY_DELAYS": "0.3,0.3",
    "NEXUS_WEBHOOK_TIMEOUT": "2",
    # Longer than any failure run the other tests cause (about 2 s), so only the
    # auto-disable test, which fails for longer, disables its endpoint.
    "NEXUS_ENDPOINT_DISABLE_SECONDS": "3",
}


def new_database(server_url: str) -> str:
    """A fresh database on the session's PostgreSQL server, built by the migrations."""
    url = create_database(server_url, "nexus_hooks")
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def hook_db_url(server_url: str) -> str:
    return new_database(server_url)


@pytest.fixture(scope="session")
def hook_server(hook_db_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(hook_db_url, env=HOOK_ENV).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


async def signup(http: httpx.AsyncClient) -> dict[str, Any]:
    client = GraphQLClient(http)
    data = await client.data(SIGNUP, {"input": {"name": "Hook Shop", "email": f"{uuid.uuid4().hex[:8]}@shop.test"}})
    payload = data["signupMerchant"]
    return {
        "id": payload["merchant"]["id"],
        "client": GraphQLClient(http, payload["secretKey"]),
        "public": GraphQLClient(http, payload["publishableKey"]),
    }


@pytest.fixture
async def hook_http(hook_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hook_server.url, timeout=30) as client:
        yield client


@pytest.fixture
async def shop(hook_http: httpx.AsyncClient) -> dict[str, Any]:
    """A fresh merchant on the webhook server: {id, client (secret key), public}."""
    return await signup(hook_http)
