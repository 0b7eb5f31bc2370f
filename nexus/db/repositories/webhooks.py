"""Webhook endpoints, their secrets, the delivery outbox and delivery attempts.

The outbox rows themselves are written by the `events_fanout` trigger (see the
migrations) in the transaction that inserts an event; this module claims them,
records what happened to them, and manages endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, String, all_, any_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from nexus.db import models
from nexus.db.repositories.prepared import Prepared, execute, fetch, fetch_one

_D = models.WebhookDelivery
_E = models.WebhookEndpoint
_S = models.WebhookSecret
_A = models.WebhookAttempt

# Dispatchers LISTEN here besides 'nexus_events': resends and re-queues add due
# rows without writing an event, and must wake them too.
DELIVERIES_CHANNEL = "nexus_deliveries"


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    merchant_id: str
    event_id: str
    endpoint_id: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class EndpointRecord:
    id: str
    merchant_id: str
    url: str
    description: str | None
    enabled_events: list[str]
    disabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    deleted_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class AttemptRecord:
    delivery_id: str
    at: datetime
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_body: str | None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A due delivery leased to one dispatcher until `lease_until` (its claim token)."""

    id: str
    merchant_id: str
    event_id: str
    endpoint_id: str
    url: str
    attempt_count: int
    lease_until: datetime


@dataclass(frozen=True)
class SecretRow:
    endpoint_id: str
    ciphertext: bytes


def _delivery(row: models.WebhookDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        merchant_id=row.merchant_id,
        event_id=row.event_id,
        endpoint_id=row.endpoint_id,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )


def _endpoint(row: models.WebhookEndpoint) -> EndpointRecord:
    return EndpointRecord(
        id=row.id,
        merchant_id=row.merchant_id,
        url=row.url,
        description=row.description,
        enabled_events=list(row.enabled_events),
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        deleted_at=row.deleted_at,
        created_at=row.created_at,
    )


def _attempt(row: models.WebhookAttempt) -> AttemptRecord:
    return AttemptRecord(
        delivery_id=row.delivery_id,
        at=row.at,
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        error=row.error,
        response_body=row.response_body,
    )


def _live_endpoint() -> Any:
    return (_E.disabled.is_(False)) & (_E.deleted_at.is_(None))


# The dispatcher's statements, built once and sent straight to the driver (prepared.Prepared): it runs
# them for every delivery. Lists travel as arrays (= ANY / <> ALL), so each is one SQL text
# whatever its length; `<> ALL` of an empty array is true (no endpoint is busy).
_IDS = bindparam("ids", type_=ARRAY(String))
_BUSY = bindparam("busy", type_=ARRAY(String))
_CLAIM_DUE = Prepared(
    select(_D.id, _D.endpoint_id)
    .join(_E, _E.id == _D.endpoint_id)
    .where(
        _D.status == "pending",
        _D.next_attempt_at <= func.now(),
        _live_endpoint(),
        _D.endpoint_id != all_(_BUSY),
    )
    .order_by(_D.next_attempt_at)
    .limit(bindparam("limit"))
    .with_for_update(of=_D, skip_locked=True)
)
_LEASE = Prepared(
    update(_D)
    .where(_D.id == any_(_IDS))
    .values(next_attempt_at=func.now() + bindparam("lease", type_=Interval), updated_at=func.now())
    .returning(_D.id, _D.merchant_id, _D.event_id, _D.endpoint_id, _D.attempt_count, _D.next_attempt_at)
)
_URLS = Prepared(select(_E.id, _E.url).where(_E.id == any_(_IDS)))
_LIVE_SECRETS = Prepared(
    select(_S.endpoint_id, _S.ciphertext)
    .where(_S.endpoint_id == any_(_IDS), or_(_S.expires_at.is_(None), _S.expires_at > func.now()))
    .order_by(_S.created_at.desc())
)
_NEXT_DUE = Prepared(
    select(func.extract("epoch", func.min(_D.next_attempt_at) - func.now()).label("seconds"))
    .join(_E, _E.id == _D.endpoint_id)
    .where(_D.status == "pending", _live_endpoint(), _D.endpoint_id != all_(_BUSY))
)
_ADD_ATTEMPT = Prepared(insert(_A))
_FINISH_ATTEMPT = Prepared(
    update(_D)
    .where(_D.id == bindparam("w_id"), _D.status == "pending", _D.next_attempt_at == bindparam("w_lease_until"))
    .values(
        attempt_count=_D.attempt_count + 1,
        next_attempt_at=func.now() + bindparam("retry_in", type_=Interval),
        updated_at=func.now(),
    )
)
# Conditional: a healthy endpoint's row is not rewritten on every success.
_CLEAR_FAILING = Prepared(
    update(_E).where(_E.id == bindparam("w_id"), _E.failing_since.is_not(None)).values(failing_since=None)
)


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- endpoints -----------------------------------------------------------------

    async def add_endpoint(
        self, endpoint_id: str, merchant_id: str, url: str, description: str | None, enabled_events: list[str]
    ) -> EndpointRecord:
        row = (
            await self.session.execute(
                insert(_E)
                .values(
                    id=endpoint_id,
                    merchant_id=merchant_id,
                    url=url,
                    description=description,
                    enabled_events=enabled_events,
                    disabled=False,
                )
                .returning(_E)
            )
        ).scalar_one()
        return _endpoint(row)

    async def get_endpoint(self, merchant_id: str, endpoint_id: str, *, lock: bool = False) -> EndpointRecord | None:
        """A merchant's endpoint that is not deleted; another merchant's is None, like a missing one."""
        stmt = select(_E).where(_E.id == endpoint_id, _E.merchant_id == merchant_id, _E.deleted_at.is_(None))
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        return _endpoint(row) if row else None

    async def endpoints_by_ids(self, endpoint_ids: list[str]) -> list[EndpointRecord]:
        """Deleted ones included: a past delivery still names its endpoint."""
        rows = await self.session.execute(select(_E).where(_E.id.in_(endpoint_ids)))
        return [_endpoint(r) for r in rows.scalars()]

    async def list_endpoints(self, merchant_id: str) -> list[EndpointRecord]:
        rows = await self.session.execute(
            select(_E).where(_E.merchant_id == merchant_id, _E.deleted_at.is_(None)).order_by(_E.created_at, _E.id)
        )
        return [_endpoint(r) for r in rows.scalars()]

    async def update_endpoint(self, endpoint_id: str, values: dict[str, Any]) -> EndpointRecord:
        row = (
            await self.session.execute(update(_E).where(_E.id == endpoint_id).values(**values).returning(_E))
        ).scalar_one()
        return _endpoint(row)

    async def disable_if_enabled(self, endpoint_id: str, reason: str) -> EndpointRecord | None:
        """Disable a live endpoint; None when it already was (so one caller records the event)."""
        row = (
            await self.session.execute(
                update(_E)
                .where(_E.id == endpoint_id, _live_endpoint())
                .values(disabled=True, disabled_reason=reason)
                .returning(_E)
            )
        ).scalar_one_or_none()
        return _endpoint(row) if row else None

    async def mark_failing(self, endpoint_id: str) -> float:
        """Start the endpoint's failure run now unless one is running; seconds the run has lasted."""
        await self.session.execute(
            update(_E).where(_E.id == endpoint_id, _E.failing_since.is_(None)).values(failing_since=func.now())
        )
        lasted = select(func.extract("epoch", func.now() - _E.failing_since)).where(_E.id == endpoint_id)
        return float((await self.session.execute(lasted)).scalar() or 0)

    async def clear_failing(self, endpoint_id: str) -> None:
        await execute(self.session, _CLEAR_FAILING, {"w_id": endpoint_id})

    # -- secrets -------------------------------------------------------------------

    async def add_secret(self, secret_id: str, endpoint_id: str, ciphertext: bytes) -> None:
        await self.session.execute(insert(_S).values(id=secret_id, endpoint_id=endpoint_id, ciphertext=ciphertext))

    async def expire_secrets(self, endpoint_id: str, at: datetime, except_id: str) -> None:
        """Let the endpoint's other secrets sign until `at` (never extending an earlier expiry)."""
        await self.session.execute(
            update(_S)
            .where(
                _S.endpoint_id == endpoint_id,
                _S.id != except_id,
                or_(_S.expires_at.is_(None), _S.expires_at > at),
            )
            .values(expires_at=at)
        )

    async def live_secrets(self, endpoint_ids: list[str]) -> list[SecretRow]:
        rows = await fetch(self.session, _LIVE_SECRETS, {"ids": endpoint_ids})
        return [SecretRow(endpoint_id=r.endpoint_id, ciphertext=r.ciphertext) for r in rows]

    # -- deliveries ----------------------------------------------------------------

    async def deliveries_for_events(self, event_ids: list[str]) -> list[DeliveryRecord]:
        rows = await self.session.execute(select(_D).where(_D.event_id.in_(event_ids)).order_by(_D.created_at, _D.id))
        return [_delivery(r) for r in rows.scalars()]

    async def add_delivery(self, delivery_id: str, merchant_id: str, event_id: str, endpoint_id: str) -> DeliveryRecord:
        row = (
            await self.session.execute(
                insert(_D)
                .values(
                    id=delivery_id,
                    merchant_id=merchant_id,
                    event_id=event_id,
                    endpoint_id=endpoint_id,
                    status="pending",
                    attempt_count=0,
                    next_attempt_at=func.now(),
                )
                .returning(_D)
            )
        ).scalar_one()
        return _delivery(row)

    async def fail_pending(self, endpoint_id: str) -> int:
        """Stop an endpoint's pending deliveries (it was disabled or deleted); re-queue brings them back."""
        result = await self.session.execute(
            update(_D)
            .where(_D.endpoint_id == endpoint_id, _D.status == "pending")
            .values(status="failed", next_attempt_at=None, updated_at=func.now())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def requeue_failed(self, endpoint_id: str, since: datetime) -> int:
        """Failed deliveries created since `since` become due now, with a fresh retry schedule."""
        result = await self.session.execute(
            update(_D)
            .where(_D.endpoint_id == endpoint_id, _D.status == "failed", _D.created_at >= since)
            .values(status="pending", attempt_count=0, next_attempt_at=func.now(), updated_at=func.now())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def notify_due(self) -> None:
        """Wake the dispatchers when this transaction commits (NOTIFY is transactional)."""
        await self.session.execute(select(func.pg_notify(DELIVERIES_CHANNEL, "")))

    async def attempts_for_deliveries(self, delivery_ids: list[str]) -> list[AttemptRecord]:
        rows = await self.session.execute(select(_A).where(_A.delivery_id.in_(delivery_ids)).order_by(_A.at, _A.id))
        return [_attempt(r) for r in rows.scalars()]

    # -- the dispatcher's side -----------------------------------------------------

    async def claim_due(self, limit: int, busy_endpoints: list[str]) -> list[tuple[str, str]]:
        """Lock up to `limit` due deliveries of live endpoints others have not locked: (id, endpoint id)."""
        rows = await fetch(self.session, _CLAIM_DUE, {"busy": busy_endpoints, "limit": limit})
        return [(r.id, r.endpoint_id) for r in rows]

    async def lease(self, delivery_ids: list[str], lease_s: float) -> list[ClaimedDelivery]:
        """Push the locked rows' due time past the lease: a crash leaves them due again after it."""
        claimed = await fetch(self.session, _LEASE, {"ids": delivery_ids, "lease": timedelta(seconds=lease_s)})
        endpoint_ids = list({r.endpoint_id for r in claimed})
        urls = {r.id: r.url for r in await fetch(self.session, _URLS, {"ids": endpoint_ids})}
        return [
            ClaimedDelivery(
                id=r.id,
                merchant_id=r.merchant_id,
                event_id=r.event_id,
                endpoint_id=r.endpoint_id,
                url=urls[r.endpoint_id],
                attempt_count=r.attempt_count,
                lease_until=r.next_attempt_at,
            )
            for r in claimed
        ]

    async def seconds_until_next_due(self, busy_endpoints: list[str]) -> float | None:
        """Seconds (database clock) until the earliest pending delivery of a live, non-busy endpoint."""
        row = await fetch_one(self.session, _NEXT_DUE, {"busy": busy_endpoints})
        return float(row.seconds) if row is not None and row.seconds is not None else None

    async def queue_stats(self) -> tuple[int, datetime | None]:
        """(deliveries due now, the oldest due time) for the metrics."""
        row = (
            await self.session.execute(
                select(func.count(), func.min(_D.next_attempt_at)).where(
                    _D.status == "pending", _D.next_attempt_at <= func.now()
                )
            )
        ).one()
        return int(row[0]), row[1]

    async def add_attempt(
        self,
        delivery_id: str,
        status_code: int | None,
        latency_ms: int | None,
        error: str | None,
        response_body: str | None,
    ) -> None:
        values = {
            "delivery_id": delivery_id,
            "status_code": status_code,
            "latency_ms": latency_ms,
            "error": error,
            "response_body": response_body,
        }
        await execute(self.session, _ADD_ATTEMPT, values)

    async def finish_attempt(
        self, delivery_id: str, lease_until: datetime, status: str, retry_in_s: float | None
    ) -> bool:
        """Apply an attempt's outcome if our lease still holds; False when another dispatcher re-claimed it."""
        retry_in = timedelta(seconds=retry_in_s) if retry_in_s is not None else None  # NULL: not due again
        params = {"w_id": delivery_id, "w_lease_until": lease_until, "status": status, "retry_in": retry_in}
        return await execute(self.session, _FINISH_ATTEMPT, params) > 0

    async def database_now(self) -> datetime:
        now: datetime = (await self.session.execute(select(func.now()))).scalar_one()
        return now
