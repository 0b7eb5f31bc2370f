"""Direct execution (nexus/schema/direct_execution.py) answers exactly as Strawberry's view does.

Two live servers on one database: the usual one, and one with NEXUS_DIRECT_EXECUTION=0 that
sends every request through Strawberry. The same requests must get the same status, content
type and JSON from both; the metrics say which path each request took.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.api.gql import CAPTURE, CREATE, GET, PROCESS, card
from tests.conftest import ServerProcess

Request = tuple[dict[str, Any], dict[str, str]]


@pytest.fixture(scope="module")
def strawberry_only(database_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, env={"NEXUS_DIRECT_EXECUTION": "0"}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def reference(strawberry_only: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=strawberry_only.url, timeout=30) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def paths(http: httpx.AsyncClient) -> dict[str, float]:
    text = (await http.get("/metrics")).text
    found = re.findall(r'^nexus_graphql_http_requests_total\{path="(\w+)"\} ([0-9.e+]+)$', text, re.M)
    return {path: float(value) for path, value in found}


async def answer(http: httpx.AsyncClient, request: Request) -> tuple[int, str, Any]:
    body, headers = request
    response = await http.post("/graphql", json=body, headers=headers)
    return response.status_code, response.headers["content-type"], response.json()


async def test_both_paths_give_the_same_answers(
    http: httpx.AsyncClient, reference: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    secret, publishable = bearer(merchant["secretKey"]), bearer(merchant["publishableKey"])
    created = await merchant["client"].data(
        CREATE, {"input": {"amount": 1999, "currency": "usd"}, "key": uuid.uuid4().hex}
    )
    intent = created["createPaymentIntent"]["paymentIntent"]
    replayed_key = uuid.uuid4().hex
    replay = {"query": CREATE, "variables": {"input": {"amount": 500, "currency": "eur"}, "key": replayed_key}}
    await answer(http, (replay, secret))  # the first run; both servers below replay it

    def create(input: dict[str, Any], key: object = "k-parity") -> dict[str, Any]:
        return {"query": CREATE, "variables": {"input": input, "key": key}}

    requests: list[tuple[str, Request]] = [
        ("read, secret key", ({"query": GET, "variables": {"id": intent["id"]}}, secret)),
        (
            "read, publishable key and client secret",
            ({"query": GET, "variables": {"id": intent["id"], "secret": intent["clientSecret"]}}, publishable),
        ),
        ("read, publishable key without the secret", ({"query": GET, "variables": {"id": intent["id"]}}, publishable)),
        ("read, no key", ({"query": GET, "variables": {"id": intent["id"]}}, {})),
        ("read, unknown key", ({"query": GET, "variables": {"id": intent["id"]}}, bearer("sk_test_" + "x" * 32))),
        ("read, unknown id", ({"query": GET, "variables": {"id": "pi_missing"}}, secret)),
        (
            "read, by operation name",
            (
                {
                    "query": "query One($id: ID!) { paymentIntent(id: $id) { id amount } }",
                    "variables": {"id": intent["id"]},
                    "operationName": "One",
                },
                secret,
            ),
        ),
        ("page with a bad size", ({"query": "{ paymentIntents(first: 100000) { edges { cursor } } }"}, secret)),
        ("create, amount too small", (create({"amount": 0, "currency": "usd"}), secret)),
        ("create, currency unknown", (create({"amount": 100, "currency": "xyz"}), secret)),
        ("create, metadata not an object", (create({"amount": 100, "currency": "usd", "metadata": "x"}), secret)),
        ("create, amount not an Int", (create({"amount": "abc", "currency": "usd"}), secret)),
        ("create, amount beyond 32 bits", (create({"amount": 2**40, "currency": "usd"}), secret)),
        ("create, key missing", ({"query": CREATE, "variables": {"input": {"amount": 1, "currency": "usd"}}}, secret)),
        ("create, key too long", (create({"amount": 100, "currency": "usd"}, "k" * 300), secret)),
        ("create, publishable key", (create({"amount": 100, "currency": "usd"}), publishable)),
        ("create, replayed", (replay, secret)),
        (
            "process, card fails Luhn",
            (
                {
                    "query": PROCESS,
                    "variables": {"input": {"id": intent["id"], "card": card("4242424242424241")}, "key": "k-luhn"},
                },
                secret,
            ),
        ),
        (
            "capture, not capturable",
            ({"query": CAPTURE, "variables": {"input": {"id": intent["id"]}, "key": "k-capture"}}, secret),
        ),
    ]
    before = await paths(http)
    for name, request in requests:
        ours, theirs = await answer(http, request), await answer(reference, request)
        assert ours == theirs, name
    after = await paths(http)
    # Every one of them ran directly on the usual server (none qualified for a stored replay yet:
    # a stored answer needs a replay to have run once before on that server).
    assert after.get("direct", 0) - before.get("direct", 0) == len(requests)
    assert after.get("strawberry", 0) == before.get("strawberry", 0)


async def test_requests_that_do_not_qualify_go_through_strawberry(
    http: httpx.AsyncClient, merchant: dict[str, Any]
) -> None:
    secret = bearer(merchant["secretKey"])
    typename = {"query": "{ __typename }"}
    cases: list[tuple[str, dict[str, Any], dict[str, str], Any]] = [
        ("extensions", {**typename, "extensions": {}}, secret, {"data": {"__typename": "Query"}}),
        (
            "two operations",
            {"query": "query A { __typename } query B { __typename }", "operationName": "B"},
            secret,
            {"data": {"__typename": "Query"}},
        ),
        ("unknown operation name", {**typename, "operationName": "Nope"}, secret, None),
        (
            "two operations, no name",  # the spec's GetOperation: the client must say which
            {"query": "query A { __typename } query B { __typename }"},
            secret,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("syntax error", {"query": "{ __typename"}, secret, "GRAPHQL_PARSE_FAILED"),
        ("unknown field", {"query": "{ nope }"}, secret, "GRAPHQL_VALIDATION_FAILED"),
        (
            "NUL in a variable",
            {
                "query": CREATE,
                "variables": {
                    "input": {"amount": 100, "currency": "usd", "description": "a\x00"},
                    "key": uuid.uuid4().hex,
                },
            },
            secret,
            "INVALID_INPUT",
        ),
        ("streaming accept", typename, {**secret, "Accept": "multipart/mixed"}, None),
        (
            "body over 64 KiB",
            {**typename, "variables": {"unused": "x" * 70_000}},
            secret,
            {"data": {"__typename": "Query"}},
        ),
    ]
    for name, body, headers, expected in cases:
        before = await paths(http)
        response = await http.post("/graphql", json=body, headers=headers)
        after = await paths(http)
        assert after.get("strawberry", 0) - before.get("strawberry", 0) == 1, name
        assert after.get("direct", 0) == before.get("direct", 0), name
        if isinstance(expected, dict):
            assert response.json() == expected, name
        elif isinstance(expected, str):
            assert response.json()["errors"][0]["extensions"]["code"] == expected, name


async def test_a_plain_request_runs_directly(http: httpx.AsyncClient, merchant: dict[str, Any]) -> None:
    before = await paths(http)
    data = await merchant["client"].data(CREATE, {"input": {"amount": 700, "currency": "usd"}, "key": uuid.uuid4().hex})
    assert data["createPaymentIntent"]["paymentIntent"]["status"] == "CREATED"
    after = await paths(http)
    assert after.get("direct", 0) - before.get("direct", 0) == 1
    assert after.get("strawberry", 0) == before.get("strawberry", 0)
