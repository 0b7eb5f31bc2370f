"""The HTTP surface: GraphiQL, rate limits, health, error shapes."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import SIGNUP, ServerProcess


@pytest.fixture(scope="module")
def limited_server(database_url: str) -> Iterator[ServerProcess]:
    # 2 requests/s per key, burst 4: small enough to trip in a test, no sleeping needed.
    server = ServerProcess(database_url, env={"NEXUS_RATE_LIMIT": "2"}).start()
    yield server
    server.stop()


async def test_rate_limit_per_key(limited_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=limited_server.url) as http:
        signup = (
            await http.post(
                "/graphql", json={"query": SIGNUP, "variables": {"input": {"name": "Busy", "email": "busy@x.test"}}}
            )
        ).json()["data"]["signupMerchant"]
        headers = {"Authorization": f"Bearer {signup['secretKey']}"}
        bodies = await asyncio.gather(
            *(http.post("/graphql", json={"query": "{ me { id } }"}, headers=headers) for _ in range(12))
        )
    codes = [b.status_code for b in bodies]
    assert set(codes) == {200}
    limited = [b.json()["errors"][0]["extensions"] for b in bodies if b.json().get("errors")]
    assert limited, "some of 12 simultaneous requests must exceed a burst of 4"
    assert all(e["code"] == "RATE_LIMITED" and e["retryAfter"] >= 1 for e in limited)
    assert len(limited) < 12


async def test_graphiql_in_development(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_no_graphiql_in_production(database_url: str) -> None:
    env = {"NEXUS_ENV": "production", "NEXUS_MASTER_KEY": base64.b64encode(b"p" * 32).decode()}
    server = ServerProcess(database_url, env=env).start()
    try:
        page = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
    finally:
        server.stop()


async def test_malformed_requests_get_400(http: httpx.AsyncClient) -> None:
    bad_json = await http.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    no_query = await http.post("/graphql", json={"variables": {}})
    assert no_query.status_code == 400


async def test_unexpected_keys_in_error_are_never_echoed(merchant: dict[str, Any]) -> None:
    body = await merchant["client"].raw("{ me { id } }", key="sk_test_secretvalue123")
    assert "secretvalue123" not in str(body)


async def test_unknown_routes_get_404_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/nope")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
