"""A back end's POST /graphql skips the middleware that does nothing for it; a browser's, a
chunked or oversized one keeps the whole stack, CORS and the body limit included
(nexus.graphql_post). In process, on the real database, with the app's lifespan."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from nexus.app import create_app
from nexus.body_limit import MAX_BODY_BYTES
from nexus.config import Settings
from nexus.graphql_post import GatewayApp, takes_shortcut
from tests.conftest import SIGNUP

SHOP = "https://shop.example"
TYPENAME = {"query": "{ __typename }"}


def scope(headers: list[tuple[bytes, bytes]], method: str = "POST", path: str = "/graphql") -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "headers": headers}


def test_only_a_plain_post_within_the_limit_takes_the_shortcut() -> None:
    length = [(b"content-type", b"application/json"), (b"content-length", b"120")]
    assert takes_shortcut(scope(length), MAX_BODY_BYTES)
    assert not takes_shortcut(scope([*length, (b"origin", SHOP.encode())]), MAX_BODY_BYTES)  # CORS decides
    assert not takes_shortcut(scope([(b"content-length", b"121")]), 120)  # the body limit refuses it
    assert not takes_shortcut(scope([(b"transfer-encoding", b"chunked")]), MAX_BODY_BYTES)  # counted as it streams
    assert not takes_shortcut(scope([]), MAX_BODY_BYTES)  # no declared length
    assert not takes_shortcut(scope([(b"content-length", b"1"), (b"content-length", b"2")]), MAX_BODY_BYTES)
    assert not takes_shortcut(scope([(b"content-length", b"-1")]), MAX_BODY_BYTES)
    assert not takes_shortcut(scope(length, method="GET"), MAX_BODY_BYTES)
    assert not takes_shortcut(scope(length, path="/metrics"), MAX_BODY_BYTES)
    assert not takes_shortcut({**scope(length), "type": "websocket"}, MAX_BODY_BYTES)


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[GatewayApp]:
    settings = Settings(DATABASE_URL=database_url, NEXUS_DATA_DIR=tmp_path, NEXUS_ALLOWED_ORIGINS=SHOP)
    application = create_app(settings)
    assert isinstance(application, GatewayApp)
    async with application.router.lifespan_context(application):
        yield application


def client(app: GatewayApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nexus.test")


async def test_a_back_ends_post_is_answered_past_the_middleware_stack(app: GatewayApp) -> None:
    async with client(app) as http:
        email = f"{uuid.uuid4().hex[:8]}@shortcut.test"
        variables = {"input": {"name": "S", "email": email}}
        signup = await http.post("/graphql", json={"query": SIGNUP, "variables": variables})
        key = signup.json()["data"]["signupMerchant"]["secretKey"]
        headers = {"authorization": f"Bearer {key}", "x-request-id": "r-1"}
        me = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
    assert me.status_code == 200 and me.json()["data"]["me"]["id"].startswith("acct_")
    assert me.headers["x-request-id"] == "r-1"  # the request context still runs
    assert app.middleware_stack is None, "Starlette builds its middleware stack on the first request through it"


async def test_a_browsers_post_keeps_cors(app: GatewayApp) -> None:
    async with client(app) as http:
        allowed = await http.post("/graphql", json=TYPENAME, headers={"origin": SHOP})
        other = await http.post("/graphql", json=TYPENAME, headers={"origin": "https://elsewhere.example"})
    assert app.middleware_stack is not None
    assert allowed.json() == {"data": {"__typename": "Query"}}
    assert allowed.headers["access-control-allow-origin"] == SHOP and "x-request-id" in allowed.headers
    assert "access-control-allow-origin" not in other.headers


async def test_the_body_limit_still_refuses_what_the_shortcut_leaves_to_it(app: GatewayApp) -> None:
    pad = {"query": "{ __typename }", "variables": {"pad": "x" * (MAX_BODY_BYTES + 10)}}

    async def chunks() -> AsyncIterator[bytes]:
        yield httpx.Request("POST", "/", json=pad).read()

    async with client(app) as http:
        declared = await http.post("/graphql", json=pad)
        chunked = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert chunked.status_code == 413


async def test_other_routes_are_routed_as_before(app: GatewayApp) -> None:
    async with client(app) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.get("/nowhere")).status_code == 404
        assert (await http.put("/graphql", json=TYPENAME)).status_code == 405
