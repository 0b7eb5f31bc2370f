"""Event types and Stripe-shaped bodies; a client secret never appears."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from nexus.domain import events
from nexus.domain.bank import BankDecision
from nexus.domain.errors import InvalidInput
from nexus.domain.payment_intent import PaymentIntent, new_payment_intent
from nexus.domain.status import CaptureMethod, RiskLevel

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
UNIX_NOW = 1795867200


def intent() -> PaymentIntent:
    return new_payment_intent("mer_1", 2000, "EUR", CaptureMethod.MANUAL, "Order 42", {"order": "42"}, NOW)


def test_event_type_constants() -> None:
    assert {
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "refund.created",
    } == events.ALL_EVENT_TYPES
    assert events.PAYMENT_INTENT_CREATED == "payment_intent.created"
    assert events.REFUND_CREATED == "refund.created"
    assert events.API_VERSION == "2026-11-28"


def test_payment_intent_object() -> None:
    pi = intent()
    assert events.payment_intent_object(pi) == {
        "id": pi.id,
        "object": "payment_intent",
        "amount": 2000,
        "amount_capturable": 0,
        "amount_received": 0,
        "amount_refunded": 0,
        "currency": "eur",
        "status": "created",
        "capture_method": "manual",
        "description": "Order 42",
        "metadata": {"order": "42"},
        "last_payment_error": None,
        "cancellation_reason": None,
        "created": UNIX_NOW,
        "livemode": False,
        "version": 1,
    }


def test_enum_values_are_lower_case_snake_case() -> None:
    pi = intent()
    pi.start_processing(NOW)
    pi.apply_decision(BankDecision("approved", None, 10, RiskLevel.NORMAL, (), "approved_by_network"), NOW)
    body = events.payment_intent_object(pi)
    assert body["status"] == "requires_capture"
    assert body["amount_capturable"] == 2000
    assert body["version"] == 3


def test_a_failure_is_in_the_object() -> None:
    pi = intent()
    pi.start_processing(NOW)
    decision = BankDecision("declined", "lost_card", 10, RiskLevel.NORMAL, (), "declined_by_network")
    pi.apply_decision(decision, NOW)
    body = events.payment_intent_object(pi)
    assert body["status"] == "failed"
    assert body["last_payment_error"] == {
        "code": "card_declined",
        "decline_code": "lost_card",
        "message": "Your card was declined.",
    }


def test_metadata_is_an_object_even_when_unset() -> None:
    pi = new_payment_intent("mer_1", 2000, "usd", CaptureMethod.AUTOMATIC, None, None, NOW)
    assert events.payment_intent_object(pi)["metadata"] == {}


def test_the_client_secret_never_appears_in_any_body() -> None:
    pi = intent()
    body = events.event_body("evt_1", events.PAYMENT_INTENT_CREATED, NOW, events.payment_intent_object(pi), "k1")
    text = json.dumps(body)
    assert pi.client_secret not in text
    assert "secret" not in text
    assert "merchant" not in text


def test_event_body_shape() -> None:
    data = {"id": "pi_1", "object": "payment_intent"}
    body = events.event_body("evt_1", events.PAYMENT_INTENT_SUCCEEDED, NOW, data, "key-1")
    assert body == {
        "id": "evt_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": UNIX_NOW,
        "api_version": "2026-11-28",
        "livemode": False,
        "data": {"object": data},
        "request": {"idempotency_key": "key-1"},
    }
    json.dumps(body)


def test_events_no_request_caused_have_a_null_request() -> None:
    body = events.event_body("evt_2", events.PAYMENT_INTENT_CANCELED, NOW, {}, None)
    assert body["request"] is None


def test_refund_object_has_exactly_the_contract_keys() -> None:
    body = events.refund_object("re_1", 500, "usd", "pi_1", "succeeded", None, NOW + timedelta(seconds=1))
    assert body == {
        "id": "re_1",
        "object": "refund",
        "amount": 500,
        "currency": "usd",
        "payment_intent": "pi_1",
        "status": "succeeded",
        "reason": None,
        "created": UNIX_NOW + 1,
    }


def test_created_is_unix_seconds_in_any_zone() -> None:
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    assert events.unix_seconds(tokyo) == UNIX_NOW
    with pytest.raises(ValueError, match="timezone-aware"):
        events.unix_seconds(datetime(2026, 11, 28))


@pytest.mark.parametrize(
    ("enabled", "event_type", "expected"),
    [
        (["*"], "payment_intent.created", True),
        (["*"], "refund.created", True),
        (["payment_intent.succeeded"], "payment_intent.succeeded", True),
        (["payment_intent.succeeded"], "payment_intent.created", False),
        (["refund.created", "payment_intent.canceled"], "payment_intent.canceled", True),
        (["payment_intent.*"], "payment_intent.payment_failed", True),
        (["payment_intent.*"], "refund.created", False),
        ([], "payment_intent.created", False),
        (["payment_intent"], "payment_intent.created", False),
    ],
)
def test_matches(enabled: list[str], event_type: str, expected: bool) -> None:
    assert events.matches(enabled, event_type) is expected


def test_validate_enabled_events() -> None:
    field = ["input", "enabledEvents"]
    assert events.validate_enabled_events(["*"], field) == ["*"]
    assert events.validate_enabled_events(["refund.created", "refund.created", "payment_intent.*"], field) == [
        "refund.created",
        "payment_intent.*",
    ]
    for bad in ([], ["charge.succeeded"], ["payment_intent.*", "nope"]):
        with pytest.raises(InvalidInput) as raised:
            events.validate_enabled_events(bad, field)
        assert raised.value.field == field
