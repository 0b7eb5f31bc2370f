"""SQLAlchemy table models. The database schema itself is built only by Alembic.

Money invariants live here as CHECK constraints too, so no code path, however
buggy or racing, can over-capture or over-refund.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONB, datetime: DateTime(timezone=True)}


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Merchant(Base):
    __tablename__ = "merchants"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created()


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # secret | publishable
    # SHA-256 hex of the whole key: the plaintext is shown once and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("kind IN ('secret', 'publishable')", name="api_key_kind"),)


class PaymentIntent(Base):
    __tablename__ = "payment_intents"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(24))
    capture_method: Mapped[str] = mapped_column(String(16))
    amount_capturable: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_received: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    client_secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    last_payment_error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    cancellation_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    __table_args__ = (
        CheckConstraint("amount > 0", name="pi_amount_positive"),
        CheckConstraint("amount_capturable >= 0 AND amount_capturable <= amount", name="pi_capturable_range"),
        CheckConstraint("amount_received >= 0 AND amount_received <= amount", name="pi_received_le_amount"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount_received", name="pi_refunded_le_received"),
        CheckConstraint(
            "status IN ('CREATED','PROCESSING','REQUIRES_ACTION','REQUIRES_CAPTURE','SUCCEEDED','FAILED','CANCELED')",
            name="pi_status",
        ),
        CheckConstraint("version >= 1", name="pi_version_positive"),
        # Relay pagination walks (merchant, created_at desc, id desc).
        Index("ix_pi_merchant_created", "merchant_id", text("created_at DESC"), text("id DESC")),
        # The auto-cancel job scans only uncaptured authorizations; a partial index keeps it cheap.
        Index("ix_pi_requires_capture", "updated_at", postgresql_where=text("status = 'REQUIRES_CAPTURE'")),
        # The challenge-expiry job scans only intents waiting on 3-D Secure.
        Index("ix_pi_requires_action", "updated_at", postgresql_where=text("status = 'REQUIRES_ACTION'")),
    )


# The unique index every idempotency claim relies on; its violation tells a taken key
# (repositories.idempotency.is_key_taken).
IDEMPOTENCY_KEY_CONSTRAINT = "uq_idempotency_scope_key"
# Literal, not bound values: the planner uses a partial index only when the query's
# predicate is the index's own, which a parameter (generic plan) never proves.
DECLINED_OUTCOMES = text("outcome IN ('declined', 'blocked')")


class PaymentAttempt(Base):
    __tablename__ = "payment_attempts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    payment_intent_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id", ondelete="CASCADE"), index=True)
    card_brand: Mapped[str] = mapped_column(String(20))
    card_last4: Mapped[str] = mapped_column(String(4))
    card_fingerprint: Mapped[str] = mapped_column(String(64))
    card_exp_month: Mapped[int] = mapped_column(Integer)
    card_exp_year: Mapped[int] = mapped_column(Integer)
    # AES-256-GCM of the card number while the attempt is in flight; purged when it resolves.
    card_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    outcome: Mapped[str] = mapped_column(
        String(24)
    )  # pending | authenticating (in flight) | requires_action | approved | declined | blocked
    decline_code: Mapped[str | None] = mapped_column(String(40))
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    risk_level: Mapped[str] = mapped_column(String(16), default="NORMAL")
    risk_reasons: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    network_status: Mapped[str] = mapped_column(String(40), default="pending")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        # Velocity rule: declined attempts per card fingerprint per merchant in a window. Only the
        # declines are indexed: a card's approved attempts would be read and thrown away by every count.
        Index(
            "ix_attempt_declines",
            "merchant_id",
            "card_fingerprint",
            "created_at",
            postgresql_where=DECLINED_OUTCOMES,
        ),
        # The recovery loop looks only at attempts left in flight.
        Index(
            "ix_attempt_pending",
            "created_at",
            postgresql_where=text("outcome IN ('pending', 'authenticating')"),
        ),
    )


class BankAuthorization(Base):
    """The simulated bank's own record: one decision per attempt id, however often it is asked."""

    __tablename__ = "bank_authorizations"
    attempt_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    authenticated: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    decision: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created()


class Refund(Base):
    __tablename__ = "refunds"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    payment_intent_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = _created()
    __table_args__ = (CheckConstraint("amount > 0", name="refund_amount_positive"),)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Commit-order-ish cursor for streaming; never shown to clients.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(60))
    api_version: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    payment_intent_id: Mapped[str | None] = mapped_column(String(40))
    # The intent as it was at this version (for subscriptions): one event per intent version.
    payment_intent_version: Mapped[int | None] = mapped_column(Integer)
    intent_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        Index("ix_event_merchant_created", "merchant_id", text("created_at DESC"), text("id DESC")),
        Index("ix_event_intent_version", "payment_intent_id", "payment_intent_version"),
        Index("ix_event_created", "created_at"),
    )


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    enabled_events: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # Start of the current unbroken run of failures; reset by any success.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()


class WebhookSecret(Base):
    __tablename__ = "webhook_secrets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    # AES-256-GCM (nonce || ciphertext) under NEXUS_MASTER_KEY.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()


class WebhookDelivery(Base):
    """The outbox: one row per (event, endpoint), written with the event."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | succeeded | failed
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    __table_args__ = (
        CheckConstraint("status IN ('pending','succeeded','failed')", name="delivery_status"),
        # Dispatchers claim due rows; only pending ones are ever scanned.
        Index("ix_delivery_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = _created()
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_body: Mapped[str | None] = mapped_column(String(2048))
    # The retention job deletes attempts by age in small batches (migration 0002).
    __table_args__ = (Index("ix_webhook_attempts_at", "at"),)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # The merchant id, or "signup" for signupMerchant (keys there are global).
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(60))
    fingerprint: Mapped[str] = mapped_column(String(64))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recovery_point: Mapped[str] = mapped_column(String(60), default="started")
    # Data a resumed request needs (e.g. the attempt id of an in-flight processing).
    recovery_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        UniqueConstraint("scope", "key", name=IDEMPOTENCY_KEY_CONSTRAINT),
        Index("ix_idempotency_created", "created_at"),
    )


class RealtimeListener(Base):
    """A merchant some API process has a subscriber for: the events trigger notifies only
    while one of these is live (migration 0006, nexus.realtime.interest)."""

    __tablename__ = "realtime_listeners"
    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # One API process's broker (a random id per start).
    listener: Mapped[str] = mapped_column(String(40), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
