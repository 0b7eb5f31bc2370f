"""Webhook delivery end to end: a real server with a dispatcher, a real receiver on loopback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from nexus.webhooks.signing import SignatureVerificationError, verify
from tests.api.flows import create_intent, process_intent
from tests.webhooks.flows import all_final, create_endpoint, deliveries, events, name, wait_until
from tests.webhooks.gql import ENDPOINTS, REQUEUE, RESEND, ROTATE, UPDATE_ENDPOINT
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


async def test_retry_after_is_honoured(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    busy = Answer(429, headers={"Retry-After": "2"})
    await create_endpoint(client, receiver.endpoint(path, busy), ["payment_intent.created"])
    await create_intent(client)

    nodes = await wait_until(client, all_final)
    [delivery] = deliveries(nodes)
    assert [a["statusCode"] for a in delivery["attempts"]] == [429, 200]
    first, second = (datetime.fromisoformat(a["at"]) for a in delivery["attempts"])
    # The schedule says 0.3 s; the receiver asked for 2 s, and is not called sooner.
    assert second - first >= timedelta(seconds=2)


async def test_a_timeout_is_recorded_and_retried(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    # The server's NEXUS_WEBHOOK_TIMEOUT is 2 s.
    await create_endpoint(client, receiver.endpoint(path, Answer(200, delay=4)), ["payment_intent.created"])
    await create_intent(client)

    nodes = await wait_until(client, all_final)
    [delivery] = deliveries(nodes)
    assert delivery["status"] == "succeeded"
    timed_out, ok = delivery["attempts"]
    assert timed_out["statusCode"] is None and "timed out" in timed_out["error"]
    assert ok["statusCode"] == 200 and ok["error"] is None


async def test_410_disables_the_endpoint_and_records_an_event(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    endpoint, _ = await create_endpoint(client, receiver.endpoint(path, default=Answer(410)))
    await create_intent(client)

    disabled = await wait_until(client, lambda nodes: bool(nodes), types=["webhook_endpoint.disabled"])
    assert disabled[0]["data"]["object"]["id"] == endpoint["id"]
    [listed] = (await client.data(ENDPOINTS))["webhookEndpoints"]
    assert listed["disabled"] is True and "410" in listed["disabledReason"]
    [created] = await events(client, ["payment_intent.created"])
    assert [d["status"] for d in created["deliveries"]] == ["failed"]
    assert len(receiver.received(path)) == 1  # no retry after 410

    # A disabled endpoint gets nothing: later events have no delivery to it.
    await create_intent(client)
    later = await events(client, ["payment_intent.created"])
    assert len(later) == 2 and all(len(node["deliveries"]) <= 1 for node in later)
    assert sum(len(node["deliveries"]) for node in later) == 1


async def test_an_endpoint_failing_for_the_whole_window_is_disabled(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    # 503 asking for 2 s between attempts: three attempts span 4 s, past the server's 3 s window.
    down = Answer(503, headers={"Retry-After": "2"})
    await create_endpoint(client, receiver.endpoint(path, default=down), ["payment_intent.created"])
    await create_intent(client)

    [event] = await wait_until(client, lambda nodes: bool(nodes), types=["webhook_endpoint.disabled"])
    assert "failed" in event["data"]["object"]["disabled_reason"]
    [listed] = (await client.data(ENDPOINTS))["webhookEndpoints"]
    assert listed["disabled"] is True


async def test_a_disabled_endpoint_gets_nothing_until_enabled(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    endpoint, _ = await create_endpoint(client, receiver.endpoint(path), ["payment_intent.created"])
    off = await client.data(UPDATE_ENDPOINT, {"input": {"id": endpoint["id"], "disabled": True}})
    assert off["updateWebhookEndpoint"]["webhookEndpoint"]["disabled"] is True
    await create_intent(client)
    [quiet] = await events(client)
    assert quiet["deliveries"] == []

    await client.data(UPDATE_ENDPOINT, {"input": {"id": endpoint["id"], "disabled": False}})
    await create_intent(client)
    await receiver.wait_for(path, 1)
    nodes = await wait_until(client, all_final)
    assert [d["status"] for d in deliveries(nodes)] == ["succeeded"]
    assert len(receiver.received(path)) == 1


async def test_rotation_signs_with_both_secrets_during_the_overlap(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    endpoint, old = await create_endpoint(client, receiver.endpoint(path), ["payment_intent.created"])
    rotated = (await client.data(ROTATE, {"input": {"id": endpoint["id"]}}))["rotateWebhookSecret"]
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old

    await create_intent(client)
    [request] = await receiver.wait_for(path, 1)
    assert len(request.headers["webhook-signature"].split()) == 2
    assert request.headers["x-nexus-signature"].count("v1=") == 2
    for secret in (old, new):
        verify(request.body, request.headers, secret)
        Webhook(secret).verify(request.body, request.headers)

    # Ending the overlap now: only the newest secret signs.
    revoked = await client.data(ROTATE, {"input": {"id": endpoint["id"], "expireCurrentInSeconds": 0}})
    newest = revoked["rotateWebhookSecret"]["secret"]
    await create_intent(client)
    second = (await receiver.wait_for(path, 2))[1]
    verify(second.body, second.headers, newest)
    for stale in (old, new):
        with pytest.raises(SignatureVerificationError):
            verify(second.body, second.headers, stale)


async def test_resend_event_delivers_it_again(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    endpoint, _ = await create_endpoint(client, receiver.endpoint(path), ["payment_intent.created"])
    await create_intent(client)
    [first] = await receiver.wait_for(path, 1)
    [event] = await wait_until(client, all_final)

    payload = (await client.data(RESEND, {"input": {"eventId": event["id"], "endpointId": endpoint["id"]}}))[
        "resendEvent"
    ]
    assert payload["userErrors"] == []
    assert payload["delivery"]["status"] == "pending" and payload["delivery"]["endpoint"]["id"] == endpoint["id"]
    again = (await receiver.wait_for(path, 2))[1]
    assert again.webhook_id == first.webhook_id == event["id"]
    assert again.body == first.body

    missing = await client.data(RESEND, {"input": {"eventId": "evt_nope", "endpointId": endpoint["id"]}})
    assert missing["resendEvent"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_requeue_failed_deliveries_after_an_outage(shop: dict[str, Any], receiver: Receiver) -> None:
    client = shop["client"]
    path = name()
    since = datetime.now(UTC) - timedelta(minutes=1)
    endpoint, _ = await create_endpoint(
        client, receiver.endpoint(path, default=Answer(500)), ["payment_intent.created"]
    )
    await create_intent(client)
    await create_intent(client)
    nodes = await wait_until(client, lambda n: len(deliveries(n)) == 2 and all_final(n))
    assert {d["status"] for d in deliveries(nodes)} == {"failed"}

    receiver.set_default(path, Answer(200))  # the merchant's server is back
    payload = (await client.data(REQUEUE, {"input": {"endpointId": endpoint["id"], "since": since.isoformat()}}))[
        "requeueFailedDeliveries"
    ]
    assert payload["userErrors"] == [] and payload["requeuedCount"] == 2
    nodes = await wait_until(client, lambda n: all(d["status"] == "succeeded" for d in deliveries(n)))
    for delivery in deliveries(nodes):
        assert [a["statusCode"] for a in delivery["attempts"]][-1] == 200


async def test_delivery_metrics_are_exported(shop: dict[str, Any], receiver: Receiver, hook_http: Any) -> None:
    client = shop["client"]
    path = name()
    await create_endpoint(client, receiver.endpoint(path), ["payment_intent.created"])
    await create_intent(client)
    await wait_until(client, all_final)

    text = (await hook_http.get("/metrics")).text
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line.startswith("nexus_")}
    assert samples['nexus_webhook_deliveries_total{outcome="succeeded"}'] >= 1
    assert samples['nexus_webhook_attempts_total{outcome="succeeded"}'] >= 1
    assert samples["nexus_webhook_attempt_duration_seconds_count"] >= 1
    assert "nexus_webhook_queue_depth" in samples and "nexus_webhook_oldest_due_age_seconds" in samples
