"""Tenant isolation: every query, mutation and subscription under every kind of wrong credential.

Merchant A owns intents (created, succeeded, awaiting capture, awaiting 3-D
Secure), a refund, a webhook endpoint and events. Each operation is sent at
A's objects with no key, a garbage key, merchant B's secret key, and A's
publishable key with a wrong or missing clientSecret, and must get exactly
what API.md § Authentication says: UNAUTHENTICATED, null, NOT_FOUND or
FORBIDDEN, and never a byte of A's data. A coverage test fails when the
schema grows an operation this matrix does not list.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from websockets.exceptions import ConnectionClosed

from tests.api.flows import create_intent, key, process_intent
from tests.api.gql import REFUND
from tests.conftest import SIGNUP, GraphQLClient, ServerProcess
from tests.realtime.clients import EVENTS, INTENT_UPDATED, receive, subscribe, ws_session
from tests.security.hygiene import assert_clean, top_codes

Vars = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Op:
    name: str
    document: str
    variables: Vars
    # The publishable key may run it on one intent with that intent's clientSecret.
    publishable: bool = False
    # Reads return null for a foreign object; mutations answer NOT_FOUND; lists just omit.
    shape: str = "mutation"


def _m(field: str, input_type: str, selection: str = "userErrors { code }", key_arg: str | None = "") -> str:
    key_var = f", $key: String{key_arg}" if key_arg is not None else ""
    key_use = ", idempotencyKey: $key" if key_arg is not None else ""
    return f"mutation($input: {input_type}!{key_var}) {{ {field}(input: $input{key_use}) {{ {selection} }} }}"


OPS = [
    Op("me", "{ me { id name email } }", lambda w: {}, shape="self"),
    Op(
        "paymentIntent",
        "query($id: ID!, $s: String) { paymentIntent(id: $id, clientSecret: $s) { id amount status clientSecret } }",
        lambda w: {"id": w["created"]["id"], "s": w.get("secret")},
        publishable=True,
        shape="read",
    ),
    Op("paymentIntents", "{ paymentIntents(first: 100) { edges { node { id } } } }", lambda w: {}, shape="list"),
    Op("events", "{ events(first: 100) { edges { node { id data } } } }", lambda w: {}, shape="list"),
    Op("webhookEndpoints", "{ webhookEndpoints { id url } }", lambda w: {}, shape="list"),
    Op("node", "query($id: ID!) { node(id: $id) { id } }", lambda w: {"id": w["created"]["id"]}, shape="read"),
    Op(
        "rollApiKey",
        _m("rollApiKey", "RollApiKeyInput", "key userErrors { code }", key_arg=None),
        lambda w: {"input": {"kind": "PUBLISHABLE", "expireCurrentInSeconds": 3600}},
        shape="self",
    ),
    Op(
        "createPaymentIntent",
        _m("createPaymentIntent", "CreatePaymentIntentInput", key_arg="!"),
        lambda w: {"input": {"amount": 1000, "currency": "usd"}, "key": key()},
        shape="self",
    ),
    Op(
        "processPaymentIntent",
        _m("processPaymentIntent", "ProcessPaymentIntentInput", "paymentIntent { id } userErrors { code }", "!"),
        lambda w: {
            "input": {"id": w["created"]["id"], "clientSecret": w.get("secret"), "card": _card()},
            "key": key(),
        },
        publishable=True,
    ),
    Op(
        "authenticatePaymentIntent",
        _m("authenticatePaymentIntent", "AuthenticatePaymentIntentInput", key_arg=None),
        lambda w: {"input": {"id": w["action"]["id"], "clientSecret": w.get("secret"), "succeed": True}},
        publishable=True,
    ),
    Op(
        "capturePaymentIntent",
        _m("capturePaymentIntent", "CapturePaymentIntentInput", key_arg="!"),
        lambda w: {"input": {"id": w["capturable"]["id"]}, "key": key()},
    ),
    Op(
        "cancelPaymentIntent",
        _m("cancelPaymentIntent", "CancelPaymentIntentInput"),
        lambda w: {"input": {"id": w["capturable"]["id"]}, "key": key()},
    ),
    Op(
        "refundPaymentIntent",
        _m("refundPaymentIntent", "RefundPaymentIntentInput", key_arg="!"),
        lambda w: {"input": {"id": w["succeeded"]["id"], "amount": 100}, "key": key()},
    ),
    Op(
        "createWebhookEndpoint",
        _m("createWebhookEndpoint", "CreateWebhookEndpointInput", "secret userErrors { code }"),
        lambda w: {"input": {"url": "https://example.com/hook"}, "key": key()},
        shape="self",
    ),
    Op(
        "updateWebhookEndpoint",
        _m("updateWebhookEndpoint", "UpdateWebhookEndpointInput", key_arg=None),
        lambda w: {"input": {"id": w["endpoint"], "url": "https://attacker.example/steal"}},
    ),
    Op(
        "deleteWebhookEndpoint",
        _m("deleteWebhookEndpoint", "DeleteWebhookEndpointInput", key_arg=None),
        lambda w: {"input": {"id": w["endpoint"]}},
    ),
    Op(
        "rotateWebhookSecret",
        _m("rotateWebhookSecret", "RotateWebhookSecretInput", "secret userErrors { code }", None),
        lambda w: {"input": {"id": w["endpoint"]}},
    ),
    Op(
        "resendEvent",
        _m("resendEvent", "ResendEventInput", key_arg=None),
        lambda w: {"input": {"eventId": w["event"], "endpointId": w["endpoint"]}},
    ),
    Op(
        "requeueFailedDeliveries",
        _m("requeueFailedDeliveries", "RequeueFailedDeliveriesInput", key_arg=None),
        lambda w: {"input": {"endpointId": w["endpoint"], "since": "2020-01-01T00:00:00Z"}},
    ),
]
SUBSCRIPTIONS = ["paymentIntentUpdated", "events"]
# signupMerchant needs no key by design (API.md); it is the one operation outside the matrix.
OPEN_OPERATIONS = {"signupMerchant"}


def _card() -> dict[str, Any]:
    return {"number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": "123"}


async def _signup(http: httpx.AsyncClient) -> dict[str, Any]:
    body = (
        await http.post(
            "/graphql",
            json={"query": SIGNUP, "variables": {"input": {"name": "Iso", "email": f"{uuid.uuid4().hex[:8]}@x.test"}}},
        )
    ).json()
    payload: dict[str, Any] = body["data"]["signupMerchant"]
    return payload


@pytest.fixture
async def world(http: httpx.AsyncClient) -> dict[str, Any]:
    """Merchant A's objects, and merchant B's keys."""
    a = await _signup(http)
    b = await _signup(http)
    client = GraphQLClient(http, a["secretKey"])
    created = await create_intent(client, 3000)
    succeeded = await create_intent(client, 3000)
    await process_intent(client, succeeded["id"])
    await client.data(REFUND, {"input": {"id": succeeded["id"], "amount": 500}, "key": key()})
    capturable = await create_intent(client, 3000, captureMethod="MANUAL")
    await process_intent(client, capturable["id"])
    action = await create_intent(client, 3000)
    assert (await process_intent(client, action["id"], "4000002760003184"))["paymentIntent"]["status"] == (
        "REQUIRES_ACTION"
    )
    hook = await client.data(
        "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { webhookEndpoint { id } } }",
        {"i": {"url": "https://example.com/a-hook"}},
    )
    events = await client.data("{ events(first: 1) { edges { node { id } } } }")
    refund = await client.data("query($id: ID!) { paymentIntent(id: $id) { refunds { id } } }", {"id": succeeded["id"]})
    return {
        "a": a,
        "b": b,
        "client": client,
        "created": created,
        "succeeded": succeeded,
        "capturable": capturable,
        "action": action,
        "endpoint": hook["createWebhookEndpoint"]["webhookEndpoint"]["id"],
        "event": events["events"]["edges"][0]["node"]["id"],
        "refund": refund["paymentIntent"]["refunds"][0]["id"],
    }


def _owned_ids(world: dict[str, Any]) -> list[str]:
    ids = [world[k]["id"] for k in ("created", "succeeded", "capturable", "action")]
    return [*ids, world["endpoint"], world["event"], world["refund"], world["a"]["merchant"]["id"]]


async def _send(http: httpx.AsyncClient, op: Op, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    response = await http.post("/graphql", json={"query": op.document, "variables": variables}, headers=headers)
    return assert_clean(response)


async def _snapshot(world: dict[str, Any]) -> Any:
    """Everything of A's an attack could change: compared before and after the matrix."""
    intents = await world["client"].data(
        "{ paymentIntents(first: 100) { edges { node { id status version amountReceived amountRefunded } } } }"
    )
    hooks = await world["client"].data("{ webhookEndpoints { id url disabled enabledEvents } }")
    return intents, hooks


def _no_leak(body: dict[str, Any], world: dict[str, Any]) -> None:
    text = str(body.get("data"))
    for owned in _owned_ids(world):
        assert owned not in text, (owned, body)
    assert world["created"]["clientSecret"] not in text


async def test_no_key_and_garbage_keys_are_unauthenticated(http: httpx.AsyncClient, world: dict[str, Any]) -> None:
    for token in (None, "sk_test_" + "x" * 43, "pk_test_" + "y" * 43, "not-a-key", world["a"]["secretKey"] + "x"):
        for op in OPS:
            body = await _send(http, op, op.variables(world), token)
            assert top_codes(body) == ["UNAUTHENTICATED"], (op.name, token, body)
            _no_leak(body, world)


async def test_another_merchants_secret_key_sees_nothing(http: httpx.AsyncClient, world: dict[str, Any]) -> None:
    before = await _snapshot(world)
    for op in OPS:
        body = await _send(http, op, op.variables(world), world["b"]["secretKey"])
        assert not top_codes(body), (op.name, body)
        data = body["data"][op.name]
        if op.shape == "read":
            assert data is None, (op.name, body)
        elif op.shape == "mutation":
            assert [e["code"] for e in data["userErrors"]] == ["NOT_FOUND"], (op.name, body)
        _no_leak(body, world)
    for owned in _owned_ids(world):
        node = await _send(http, OPS[5], {"id": owned}, world["b"]["secretKey"])
        assert node["data"]["node"] is None, owned
    assert await _snapshot(world) == before


@pytest.mark.parametrize("secret", [None, "wrong", "pi_x_secret_y"], ids=["missing", "wrong", "forged"])
async def test_publishable_key_without_the_client_secret(
    http: httpx.AsyncClient, world: dict[str, Any], secret: str | None
) -> None:
    before = await _snapshot(world)
    world = {**world, "secret": secret}
    for op in OPS:
        body = await _send(http, op, op.variables(world), world["a"]["publishableKey"])
        if not op.publishable:
            assert top_codes(body) == ["FORBIDDEN"], (op.name, body)
        elif op.shape == "read":
            assert not top_codes(body) and body["data"][op.name] is None, (op.name, body)
        else:
            codes = [e["code"] for e in body["data"][op.name]["userErrors"]]
            assert codes == ["NOT_FOUND"], (op.name, body)
        _no_leak(body, world)
    # Another intent's (valid) client secret opens only that intent, not this one.
    other = {**world, "secret": world["succeeded"]["clientSecret"]}
    body = await _send(http, OPS[1], OPS[1].variables(other), world["a"]["publishableKey"])
    assert body["data"]["paymentIntent"] is None
    assert await _snapshot(world) == before


async def test_publishable_key_with_its_secret_reaches_only_its_intent(
    http: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    """The control: with the right clientSecret the same calls work, so the refusals above mean something."""
    right = {**world, "secret": world["created"]["clientSecret"]}
    body = await _send(http, OPS[1], OPS[1].variables(right), world["a"]["publishableKey"])
    assert body["data"]["paymentIntent"]["id"] == world["created"]["id"]
    assert body["data"]["paymentIntent"]["clientSecret"] is None  # only the secret key sees it
    # B's publishable key with A's genuine clientSecret is still another merchant's object.
    assert (await _send(http, OPS[1], OPS[1].variables(right), world["b"]["publishableKey"]))["data"][
        "paymentIntent"
    ] is None


async def _subscription_error(server: ServerProcess, token: str, document: str, variables: dict[str, Any]) -> str:
    async with ws_session(server.url, token) as session:
        with pytest.raises(TransportQueryError) as refused:
            await receive(subscribe(session, document, variables))
    assert refused.value.errors is not None and not refused.value.data
    return str(refused.value.errors[0]["extensions"]["code"])


async def test_subscriptions_matrix(live_server: ServerProcess, world: dict[str, Any]) -> None:
    intent = world["created"]
    for token in ("", "sk_test_" + "x" * 43, "garbage"):
        with pytest.raises(TransportConnectionFailed) as failed:
            async with ws_session(live_server.url, token):
                pass
        closed = failed.value.__cause__
        assert isinstance(closed, ConnectionClosed) and closed.rcvd is not None and closed.rcvd.code == 4403
    b_secret, a_public = world["b"]["secretKey"], world["a"]["publishableKey"]
    assert await _subscription_error(live_server, b_secret, INTENT_UPDATED, {"id": intent["id"]}) == "NOT_FOUND"
    for secret in (None, "wrong", world["succeeded"]["clientSecret"]):
        variables = {"id": intent["id"], "secret": secret}
        assert await _subscription_error(live_server, a_public, INTENT_UPDATED, variables) == "NOT_FOUND"
    assert await _subscription_error(live_server, a_public, EVENTS, {}) == "FORBIDDEN"


async def test_matrix_covers_every_operation(http: httpx.AsyncClient, world: dict[str, Any]) -> None:
    schema = await world["client"].data(
        "{ __schema { queryType { fields { name } } mutationType { fields { name } } "
        "subscriptionType { fields { name } } } }"
    )
    roots = schema["__schema"]
    names = {f["name"] for kind in ("queryType", "mutationType") for f in roots[kind]["fields"]}
    assert names - OPEN_OPERATIONS == {op.name for op in OPS}
    assert {f["name"] for f in roots["subscriptionType"]["fields"]} == set(SUBSCRIPTIONS)
