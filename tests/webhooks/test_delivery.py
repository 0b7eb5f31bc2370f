"""Webhook delivery end to end: a real server with a dispatcher, a real receiver on loopback."""

from __future__ import annotations

import json
from typing import Any

from standardwebhooks import Webhook

from nexus.webhooks.signing import verify
from tests.api.flows import create_intent, process_intent
from tests.webhooks.flows import all_final, create_endpoint, deliveries, name, wait_until
from tests.webhooks.receiver import Answer, Receiver


async def test_intent_events_arrive_signed_in_both_schemes(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    endpoint, secret = await create_endpoint(client, receiver.endpoint(path))
    assert secret.startswith("whsec_")
    assert endpoint["id"].startswith("we_") and endpoint["enabledEvents"] == ["*"]

    intent = await create_intent(client)
    await process_intent(client, intent["id"])
    got = await receiver.wait_for(path, 3)

    bodies = [json.loads(r.body) for r in got]
    assert sorted(b["type"] for b in bodies) == sorted(
        ["payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"]
    )
    for request, body in zip(got, bodies, strict=True):
        verify(request.body, request.headers, secret)  # ours
        Webhook(secret).verify(request.body, request.headers)  # the official Standard Webhooks package
        assert request.headers["webhook-id"] == body["id"]
        assert body["object"] == "event" and body["data"]["object"]["id"] == intent["id"]
        assert body["request"]["idempotency_key"]
    succeeded = next(b for b in bodies if b["type"] == "payment_intent.succeeded")
    assert succeeded["data"]["object"]["status"] == "succeeded"
    assert succeeded["data"]["object"]["version"] == 3

    nodes = await wait_until(client, all_final)
    for delivery in deliveries(nodes):
        assert delivery["status"] == "succeeded"
        assert delivery["endpoint"]["id"] == endpoint["id"]
        assert [a["statusCode"] for a in delivery["attempts"]] == [200]
        assert delivery["attempts"][0]["latencyMs"] is not None


async def test_failing_twice_then_succeeding_keeps_the_webhook_id(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    await create_endpoint(client, receiver.endpoint(path, Answer(500), Answer(502)), ["payment_intent.created"])
    await create_intent(client)

    got = await receiver.wait_for(path, 3)
    assert len({r.webhook_id for r in got}) == 1
    nodes = await wait_until(client, all_final)
    [delivery] = deliveries(nodes)
    assert delivery["status"] == "succeeded"
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 502, 200]


async def test_failed_after_the_last_retry(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    await create_endpoint(client, receiver.endpoint(path, default=Answer(500)), ["payment_intent.created"])
    await create_intent(client)

    nodes = await wait_until(client, all_final)
    [delivery] = deliveries(nodes)
    # Two retry delays configured: three attempts, then failed.
    assert delivery["status"] == "failed" and delivery["nextAttemptAt"] is None
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 500]
    assert len(receiver.received(path)) == 3
