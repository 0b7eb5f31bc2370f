"""After a full run, no plaintext secret anywhere: logs, responses, events, webhook bodies, any column.

A dedicated server (DEBUG logging, the most it ever writes) on its own database
runs signup, key rolls, webhook endpoints and rotations, and payments with every
kind of test card; then the server log, every GraphQL response except the one
that showed each secret, every body the webhook receiver got, and every
text/json/bytea column of every table (found through information_schema) are
searched for the API keys, webhook secrets and full card numbers. Card
numbers may appear only as last4.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from nexus.db.embedded import EmbeddedPostgres
from tests.api.gql import AUTHENTICATE, CANCEL, CAPTURE, CREATE, PROCESS, REFUND, card
from tests.chaos.databases import fresh_database
from tests.chaos.invariants import dsn
from tests.conftest import SIGNUP, ServerProcess
from tests.webhooks.receiver import Receiver

CARDS = [
    "4242424242424242",
    "5555555555554444",
    "4000000000000002",
    "4000000000009995",
    "4100000000000019",
    "4000000000009235",
    "4000002760003184",
]
# Typed the way a person does: the same number with spaces must not leak either.
SPACED = "4242 4242 4242 4242"
LUHN_FAILING = "4242424242424241"
ROLL = "mutation($input: RollApiKeyInput!) { rollApiKey(input: $input) { key userErrors { code } } }"
CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!, $key: String) {
  createWebhookEndpoint(input: $input, idempotencyKey: $key) {
    webhookEndpoint { id url } secret userErrors { code } } }"""
ROTATE = """mutation($input: RotateWebhookSecretInput!) {
  rotateWebhookSecret(input: $input) { webhookEndpoint { id } secret userErrors { code } } }"""
READ_BACK = """query($id: ID!) { paymentIntent(id: $id) {
  id status clientSecret attempts { cardLast4 cardBrand outcome } refunds { id amount }
  events(first: 50) { edges { node { id type data deliveries { status attempts { statusCode error } } } } } } }"""


class Recorder:
    """Sends GraphQL requests and keeps every response text, with what each one showed."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.responses: list[tuple[str, str]] = []  # (operation, raw text)

    async def send(self, query: str, variables: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        self.responses.append((query, response.text))
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body
        return body["data"]


@pytest.fixture
def scan_server(embedded_pg: EmbeddedPostgres) -> Iterator[tuple[ServerProcess, str]]:
    database = fresh_database(embedded_pg, prefix="nexus_scan")
    env = {"NEXUS_LOG_LEVEL": "DEBUG", "NEXUS_WEBHOOK_RETRY_DELAYS": "0.2", "NEXUS_RECOVERY_AFTER_SECONDS": "2"}
    server = ServerProcess(database, env=env).start()
    try:
        yield server, database
    finally:
        server.stop()


@pytest.fixture
def scan_receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def _full_run(rec: Recorder, receiver: Receiver) -> dict[str, list[str]]:
    """Everything a merchant does; returns the secrets shown, by kind."""
    signup_key = f"signup-{uuid.uuid4().hex}"
    signup_input = {"input": {"name": "Scan Shop", "email": "scan@shop.test"}, "key": signup_key}
    signed = (await rec.send(SIGNUP, signup_input))["signupMerchant"]
    replay = (await rec.send(SIGNUP, signup_input))["signupMerchant"]
    assert replay["idempotentReplayed"] and replay["secretKey"] is None and replay["publishableKey"] is None
    keys = [signed["secretKey"], signed["publishableKey"]]
    rolled = await rec.send(ROLL, {"input": {"kind": "SECRET", "expireCurrentInSeconds": 3600}}, keys[0])
    secret = rolled["rollApiKey"]["key"]
    rolled_pk = await rec.send(ROLL, {"input": {"kind": "PUBLISHABLE", "expireCurrentInSeconds": 3600}}, secret)
    keys += [secret, rolled_pk["rollApiKey"]["key"]]
    public = keys[1]

    hook_input = {"input": {"url": receiver.endpoint("scan")}, "key": f"hook-{uuid.uuid4().hex}"}
    created = (await rec.send(CREATE_ENDPOINT, hook_input, secret))["createWebhookEndpoint"]
    endpoint_id = created["webhookEndpoint"]["id"]
    hook_replay = (await rec.send(CREATE_ENDPOINT, hook_input, secret))["createWebhookEndpoint"]
    assert hook_replay["secret"] is None
    rotated = await rec.send(ROTATE, {"input": {"id": endpoint_id, "expireCurrentInSeconds": 3600}}, secret)
    hook_secrets = [created["secret"], rotated["rotateWebhookSecret"]["secret"]]

    intent_ids = []
    for number in [*CARDS, SPACED, LUHN_FAILING]:
        manual = number == "5555555555554444"
        create_input = {"amount": 4000, "currency": "usd", **({"captureMethod": "MANUAL"} if manual else {})}
        intent = (await rec.send(CREATE, {"input": create_input, "key": uuid.uuid4().hex}, secret))[
            "createPaymentIntent"
        ]["paymentIntent"]
        intent_ids.append(intent["id"])
        process = {"input": {"id": intent["id"], "clientSecret": intent["clientSecret"], "card": card(number)}}
        process_key = uuid.uuid4().hex
        await rec.send(PROCESS, {**process, "key": process_key}, public)
        await rec.send(PROCESS, {**process, "key": process_key}, public)  # a replay
        if number == "4000002760003184":
            auth = {"input": {"id": intent["id"], "clientSecret": intent["clientSecret"], "succeed": True}}
            await rec.send(AUTHENTICATE, auth, public)
        if manual:
            await rec.send(
                CAPTURE, {"input": {"id": intent["id"], "amountToCapture": 3000}, "key": uuid.uuid4().hex}, secret
            )
        if number in ("4242424242424242", "4000000000009235"):
            await rec.send(REFUND, {"input": {"id": intent["id"], "amount": 1000}, "key": uuid.uuid4().hex}, secret)
        if number == LUHN_FAILING:
            await rec.send(CANCEL, {"input": {"id": intent["id"]}}, secret)
    for intent_id in intent_ids:
        await rec.send(READ_BACK, {"id": intent_id}, secret)
    await rec.send("{ events(first: 100) { edges { node { id data } } } }", {}, secret)
    await receiver.wait_for("scan", 10)
    return {"api_keys": keys, "webhook_secrets": hook_secrets}


def _needles(shown: dict[str, list[str]]) -> dict[str, str]:
    """What must not appear: each secret, the raw bytes of webhook secrets, each full card number."""
    needles = {f"api key {k[:8]}…": k for k in shown["api_keys"]}
    for secret in shown["webhook_secrets"]:
        needles[f"webhook secret {secret[:8]}…"] = secret
        needles[f"webhook secret body {secret[:8]}…"] = secret.removeprefix("whsec_")
        needles[f"webhook key hex {secret[:8]}…"] = base64.b64decode(secret.removeprefix("whsec_")).hex()
    for number in [*CARDS, LUHN_FAILING]:
        needles[f"card …{number[-4:]}"] = number
    needles["spaced card"] = SPACED
    return needles


def _found(text: str, needles: dict[str, str]) -> list[str]:
    return [name for name, needle in needles.items() if needle in text]


async def _database_text(database: str) -> list[tuple[str, str]]:
    """(table.column, every value as text) for each text-like, json and bytea column of every table."""
    conn = await asyncpg.connect(dsn(database))
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'bytea')"
        )
        assert len(columns) > 20, "information_schema listed too few columns: the scan would prove nothing"
        found = []
        for column in columns:
            name = f'"{column["table_name"]}"."{column["column_name"]}"'
            # bytea as 'escape' shows any printable plaintext hidden in binary (ciphertext stays noise).
            value = f"encode({name}, 'escape')" if column["data_type"] == "bytea" else f"{name}::text"
            rows = await conn.fetch(f'SELECT {value} AS v FROM "{column["table_name"]}" WHERE {name} IS NOT NULL')
            found.append((name, "\n".join(r["v"] for r in rows)))
        return found
    finally:
        await conn.close()


async def test_no_plaintext_secret_anywhere(scan_server: tuple[ServerProcess, str], scan_receiver: Receiver) -> None:
    server, database = scan_server
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        rec = Recorder(http)
        shown = await _full_run(rec, scan_receiver)
    needles = _needles(shown)

    # Each secret appears in exactly one response: the one that showed it.
    for name, needle in needles.items():
        showing = [op for op, text in rec.responses if needle in text]
        # API keys and webhook secrets (and so their base64 body) were shown once; nothing else ever.
        expected = 1 if name.startswith(("api key", "webhook secret")) else 0
        assert len(showing) == expected, (name, len(showing))

    leaks = {"server log": _found(server.log(), needles)}
    for received in scan_receiver.received("scan"):
        leaks.setdefault("webhook bodies", []).extend(_found(received.body.decode() + str(received.headers), needles))
    for column, text in await _database_text(database):
        leaks[column] = _found(text, needles)
    assert {where: found for where, found in leaks.items() if found} == {}
    # And the scan is looking in the right places: last4s and events are there.
    columns = dict(await _database_text(database))
    assert "4242" in columns['"payment_attempts"."card_last4"']
    assert "payment_intent.succeeded" in columns['"events"."type"']
    assert len(server.log()) > 1000
