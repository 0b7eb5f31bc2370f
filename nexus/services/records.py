"""Plain-JSON records of domain objects, for stored idempotent responses and event snapshots.

A record never holds the client secret: stored responses and events must not
carry secrets (the GraphQL layer reads the secret from its row when a secret
key asks for it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nexus.domain.payment_intent import PaymentIntent
from nexus.domain.status import CaptureMethod, PaymentIntentStatus


def now() -> datetime:
    return datetime.now(UTC)


def intent_record(pi: PaymentIntent) -> dict[str, Any]:
    return {
        "id": pi.id,
        "merchant_id": pi.merchant_id,
        "amount": pi.amount,
        "currency": pi.currency,
        "status": pi.status.value,
        "capture_method": pi.capture_method.value,
        "amount_capturable": pi.amount_capturable,
        "amount_received": pi.amount_received,
        "amount_refunded": pi.amount_refunded,
        "description": pi.description,
        "metadata": pi.metadata,
        "last_payment_error": pi.last_payment_error,
        "cancellation_reason": pi.cancellation_reason,
        "version": pi.version,
        "created_at": pi.created_at.isoformat(),
        "updated_at": pi.updated_at.isoformat(),
    }


def intent_from_record(record: dict[str, Any]) -> PaymentIntent:
    return PaymentIntent(
        id=record["id"],
        merchant_id=record["merchant_id"],
        amount=record["amount"],
        currency=record["currency"],
        status=PaymentIntentStatus(record["status"]),
        capture_method=CaptureMethod(record["capture_method"]),
        amount_capturable=record["amount_capturable"],
        amount_received=record["amount_received"],
        amount_refunded=record["amount_refunded"],
        client_secret="",
        description=record["description"],
        metadata=record["metadata"],
        last_payment_error=record["last_payment_error"],
        cancellation_reason=record["cancellation_reason"],
        version=record["version"],
        created_at=datetime.fromisoformat(record["created_at"]),
        updated_at=datetime.fromisoformat(record["updated_at"]),
    )
