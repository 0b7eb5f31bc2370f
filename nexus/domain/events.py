"""Event types and the Stripe-shaped JSON bodies of events and their objects.

These bodies are what webhooks deliver and subscriptions stream; they are
snapshots written once, in the transaction of the change. They never carry
a client secret, a key or a card number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from nexus.domain.errors import InvalidInput

if TYPE_CHECKING:
    # Type-only: payment_intent imports the event types from here.
    from nexus.domain.payment_intent import PaymentIntent

PAYMENT_INTENT_CREATED: Final = "payment_intent.created"
PAYMENT_INTENT_PROCESSING: Final = "payment_intent.processing"
PAYMENT_INTENT_REQUIRES_ACTION: Final = "payment_intent.requires_action"
PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED: Final = "payment_intent.amount_capturable_updated"
PAYMENT_INTENT_SUCCEEDED: Final = "payment_intent.succeeded"
PAYMENT_INTENT_PAYMENT_FAILED: Final = "payment_intent.payment_failed"
PAYMENT_INTENT_CANCELED: Final = "payment_intent.canceled"
REFUND_CREATED: Final = "refund.created"

ALL_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        PAYMENT_INTENT_CREATED,
        PAYMENT_INTENT_PROCESSING,
        PAYMENT_INTENT_REQUIRES_ACTION,
        PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED,
        PAYMENT_INTENT_SUCCEEDED,
        PAYMENT_INTENT_PAYMENT_FAILED,
        PAYMENT_INTENT_CANCELED,
        REFUND_CREATED,
    }
)

# The version of these body shapes; bump it (and keep the old shape for
# endpoints pinned to it) on any incompatible change.
API_VERSION: Final = "2026-11-28"

WILDCARD: Final = "*"


def unix_seconds(moment: datetime) -> int:
    """Seconds since the epoch; refuses naive datetimes, whose zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes in the domain must be timezone-aware (UTC)")
    return int(moment.timestamp())


def payment_intent_object(pi: PaymentIntent) -> dict[str, Any]:
    """The intent as a webhook ``data.object``: snake_case, enums lower case, no client secret."""
    return {
        "id": pi.id,
        "object": "payment_intent",
        "amount": pi.amount,
        "amount_capturable": pi.amount_capturable,
        "amount_received": pi.amount_received,
        "amount_refunded": pi.amount_refunded,
        "currency": pi.currency,
        "status": pi.status.value.lower(),
        "capture_method": pi.capture_method.value.lower(),
        "description": pi.description,
        # Stripe always sends an object here, never null.
        "metadata": dict(pi.metadata) if pi.metadata is not None else {},
        "last_payment_error": dict(pi.last_payment_error) if pi.last_payment_error is not None else None,
        "cancellation_reason": pi.cancellation_reason,
        "created": unix_seconds(pi.created_at),
        "livemode": False,
        "version": pi.version,
    }


def refund_object(
    id: str,  # the contract's name for the field
    amount: int,
    currency: str,
    payment_intent_id: str,
    status: str,
    reason: str | None,
    created: datetime,
) -> dict[str, Any]:
    """A refund as a webhook ``data.object`` (API.md's exact keys)."""
    return {
        "id": id,
        "object": "refund",
        "amount": amount,
        "currency": currency,
        "payment_intent": payment_intent_id,
        "status": status,
        "reason": reason,
        "created": unix_seconds(created),
    }


def event_body(
    event_id: str,
    type: str,  # the contract's name for the field
    created: datetime,
    data_object: dict[str, Any],
    idempotency_key: str | None,
) -> dict[str, Any]:
    """The full event body; ``request`` is null for events no request caused."""
    return {
        "id": event_id,
        "object": "event",
        "type": type,
        "created": unix_seconds(created),
        "api_version": API_VERSION,
        "livemode": False,
        "data": {"object": data_object},
        "request": {"idempotency_key": idempotency_key} if idempotency_key is not None else None,
    }


def matches(enabled_events: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint with ``enabled_events`` wants ``event_type``.

    ``"*"`` takes every type; ``"payment_intent.*"`` every type of one object.
    """
    for pattern in enabled_events:
        if pattern in (WILDCARD, event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def validate_enabled_events(enabled_events: Sequence[str], field: list[str]) -> list[str]:
    """The de-duplicated list, or InvalidInput when empty or naming an unknown type."""
    if not enabled_events:
        raise InvalidInput("Enable at least one event type, or '*' for all.", field)
    prefixes = {event_type.split(".")[0] + ".*" for event_type in ALL_EVENT_TYPES}
    for pattern in enabled_events:
        if pattern != WILDCARD and pattern not in ALL_EVENT_TYPES and pattern not in prefixes:
            raise InvalidInput(f"Unknown event type; use '*' or one of: {', '.join(sorted(ALL_EVENT_TYPES))}.", field)
    return list(dict.fromkeys(enabled_events))
