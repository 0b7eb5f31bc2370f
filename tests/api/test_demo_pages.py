"""The demo pages' server side: what it hands the browser, and that it stays off in production."""

from __future__ import annotations

import httpx

from nexus.app import create_app
from nexus.config import Settings
from tests.api.gql import GET
from tests.conftest import GraphQLClient, ServerProcess


async def test_checkout_session_hands_only_the_publishable_key_and_client_secret(
    http: httpx.AsyncClient, live_server: ServerProcess
) -> None:
    first = (await http.post("/demo/checkout/session")).json()
    second = (await http.post("/demo/checkout/session")).json()
    assert set(first) == {"publishableKey", "paymentIntentId", "clientSecret", "amount", "currency"}
    assert first["publishableKey"].startswith("pk_test_") and "sk_test_" not in str(first)
    # One demo merchant per process, a fresh intent per checkout.
    assert first["publishableKey"] == second["publishableKey"]
    assert first["paymentIntentId"] != second["paymentIntentId"]
    # What the page gets is enough to read its intent through the public API, and nothing more.
    public = GraphQLClient(http, first["publishableKey"])
    data = await public.data(GET, {"id": first["paymentIntentId"], "secret": first["clientSecret"]})
    assert (data["paymentIntent"]["status"], data["paymentIntent"]["amount"]) == ("CREATED", first["amount"])
    assert (await public.data(GET, {"id": first["paymentIntentId"], "secret": None}))["paymentIntent"] is None
    assert first["publishableKey"] not in live_server.log()
    assert first["clientSecret"] not in live_server.log()


async def test_pages_are_served_with_a_strict_policy(http: httpx.AsyncClient) -> None:
    for path in ("/demo/", "/demo/checkout", "/demo/dashboard"):
        response = await http.get(path)
        assert response.status_code == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
    script = await http.get("/demo/static/graphql.js")
    assert script.status_code == 200 and "graphql-transport-ws" in script.text
    # Creating an intent is not something a GET (prefetch, crawler) may do.
    assert (await http.get("/demo/checkout/session")).status_code == 405


async def status_of(settings: Settings, path: str) -> int:
    # ASGITransport runs no lifespan: routing alone is under test, no database needed.
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://nexus.test") as client:
        return (await client.get(path)).status_code


async def test_demo_pages_are_off_in_production() -> None:
    master_key = "A" * 43 + "="  # base64 of 32 bytes, as production requires
    production = Settings(NEXUS_ENV="production", NEXUS_MASTER_KEY=master_key)
    assert await status_of(production, "/demo/checkout") == 404
    enabled = Settings(NEXUS_ENV="production", NEXUS_MASTER_KEY=master_key, NEXUS_DEMO_PAGES="1")
    assert await status_of(enabled, "/demo/checkout") == 200
