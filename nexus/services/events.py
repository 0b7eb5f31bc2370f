"""Turn the event types a domain change recorded into event rows (written with the change)."""

from __future__ import annotations

from typing import Any

from nexus.db.repositories.events import NewEvent
from nexus.db.repositories.refunds import RefundRecord
from nexus.db.uow import UnitOfWork
from nexus.domain import events as domain_events
from nexus.domain.ids import new_id
from nexus.domain.payment_intent import PaymentIntent
from nexus.services.records import intent_record


async def record_intent_events(
    uow: UnitOfWork,
    pi: PaymentIntent,
    idempotency_key: str | None,
    refund: RefundRecord | None = None,
    *,
    snapshot: dict[str, Any] | None = None,
) -> list[str]:
    """Write one event per type the intent recorded; returns their ids.

    `snapshot`: the intent's record (`intent_record(pi)`) if the caller made it already."""
    if snapshot is None:
        snapshot = intent_record(pi)
    rows = []
    for event_type in pi.pending_events:
        data_object: dict[str, Any]
        if event_type == domain_events.REFUND_CREATED and refund is not None:
            data_object = domain_events.refund_object(
                refund.id,
                refund.amount,
                refund.currency,
                refund.payment_intent_id,
                refund.status,
                refund.reason,
                refund.created_at,
            )
        else:
            data_object = domain_events.payment_intent_object(pi)
        rows.append(
            NewEvent(
                id=new_id("evt"),
                merchant_id=pi.merchant_id,
                type=event_type,
                api_version=domain_events.API_VERSION,
                data={"object": data_object},
                payment_intent_id=pi.id,
                payment_intent_version=pi.version,
                intent_snapshot=snapshot,
                idempotency_key=idempotency_key,
                created_at=pi.updated_at,
            )
        )
    pi.pending_events.clear()
    await uow.events.add_many(rows)
    return [r.id for r in rows]
