"""Webhook endpoints: create, update, delete, rotate secrets, resend and re-queue deliveries.

URL checks that touch the network (resolving the host) run before the
transaction opens: a slow resolver must not hold row locks or a connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from nexus.crypto import Cipher
from nexus.db.repositories.events import NewEvent
from nexus.db.repositories.webhooks import DeliveryRecord, EndpointRecord
from nexus.db.uow import UnitOfWork
from nexus.domain import webhook_endpoints as rules
from nexus.domain.errors import InvalidState, InvalidUrl, NotFound
from nexus.domain.events import API_VERSION, validate_enabled_events
from nexus.domain.ids import new_id
from nexus.services.idempotency import run_once
from nexus.services.records import now
from nexus.webhooks import secret_box
from nexus.webhooks.signing import new_webhook_secret
from nexus.webhooks.urls import InvalidWebhookUrl, ensure_public_destination, validate_webhook_url

ENDPOINT_PREFIX = "we"
NOT_FOUND_MESSAGE = "no such webhook endpoint"


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: EndpointRecord
    secret: str | None  # None on an idempotent replay: secrets are shown once
    replayed: bool = False


async def checked_url(url: str, allow_private: bool, field: list[str]) -> str:
    """The URL if it may be registered: http(s), well-formed, and public unless private targets are allowed."""
    try:
        valid = validate_webhook_url(url)
        await ensure_public_destination(valid, allow_private)
    except InvalidWebhookUrl as error:
        raise InvalidUrl(error.message, field) from None
    return valid


async def create_endpoint(
    sessions: async_sessionmaker[AsyncSession],
    cipher: Cipher,
    allow_private: bool,
    merchant_id: str,
    url: str,
    enabled_events: list[str],
    description: str | None,
    idempotency_key: str | None,
) -> EndpointWithSecret:
    url = await checked_url(url, allow_private, ["input", "url"])
    events = validate_enabled_events(enabled_events, ["input", "enabledEvents"])
    description = rules.validate_description(description, ["input", "description"])
    secret: list[str] = []

    async def execute(uow: UnitOfWork) -> dict[str, Any]:
        endpoint = await uow.webhooks.add_endpoint(new_id(ENDPOINT_PREFIX), merchant_id, url, description, events)
        secret.append(new_webhook_secret())
        await uow.webhooks.add_secret(new_id("whs"), endpoint.id, secret_box.seal(cipher, endpoint.id, secret[0]))
        # The stored response names the endpoint only: the secret is never stored in plaintext.
        return {"endpoint_id": endpoint.id}

    arguments = {"url": url, "enabled_events": events, "description": description}
    response, replayed = await run_once(
        sessions, merchant_id, idempotency_key, "createWebhookEndpoint", arguments, execute
    )
    async with UnitOfWork(sessions) as uow:
        endpoint = await uow.webhooks.endpoints_by_ids([response["endpoint_id"]])
    return EndpointWithSecret(endpoint[0], secret[0] if secret else None, replayed)


async def update_endpoint(
    sessions: async_sessionmaker[AsyncSession],
    allow_private: bool,
    merchant_id: str,
    endpoint_id: str,
    *,
    url: str | None = None,
    enabled_events: list[str] | None = None,
    disabled: bool | None = None,
    description: str | None = None,
) -> EndpointRecord:
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = await checked_url(url, allow_private, ["input", "url"])
    if enabled_events is not None:
        values["enabled_events"] = validate_enabled_events(enabled_events, ["input", "enabledEvents"])
    if description is not None:
        values["description"] = rules.validate_description(description, ["input", "description"])
    async with UnitOfWork(sessions) as uow:
        current = await _owned(uow, merchant_id, endpoint_id, lock=True)
        if disabled is True and not current.disabled:
            values.update(disabled=True, disabled_reason=rules.REASON_MERCHANT)
            await uow.webhooks.fail_pending(endpoint_id)
        elif disabled is False and current.disabled:
            # A fresh start: the failure run that may have disabled it is over.
            values.update(disabled=False, disabled_reason=None, failing_since=None)
        endpoint = await uow.webhooks.update_endpoint(endpoint_id, values) if values else current
        await uow.commit()
    return endpoint


async def delete_endpoint(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, endpoint_id: str
) -> EndpointRecord:
    """Soft delete: past deliveries keep naming it; nothing more is sent to it."""
    async with UnitOfWork(sessions) as uow:
        await _owned(uow, merchant_id, endpoint_id, lock=True)
        await uow.webhooks.fail_pending(endpoint_id)
        endpoint = await uow.webhooks.update_endpoint(endpoint_id, {"deleted_at": now()})
        await uow.commit()
    return endpoint


async def rotate_secret(
    sessions: async_sessionmaker[AsyncSession],
    cipher: Cipher,
    merchant_id: str,
    endpoint_id: str,
    expire_current_in_seconds: int,
) -> EndpointWithSecret:
    """A new secret; the current ones keep signing beside it for `expire_current_in_seconds`."""
    overlap = rules.validate_expire_current(expire_current_in_seconds, ["input", "expireCurrentInSeconds"])
    secret = new_webhook_secret()
    secret_id = new_id("whs")
    async with UnitOfWork(sessions) as uow:
        endpoint = await _owned(uow, merchant_id, endpoint_id, lock=True)
        await uow.webhooks.add_secret(secret_id, endpoint_id, secret_box.seal(cipher, endpoint_id, secret))
        await uow.webhooks.expire_secrets(endpoint_id, now() + timedelta(seconds=overlap), except_id=secret_id)
        await uow.commit()
    return EndpointWithSecret(endpoint, secret)


async def resend_event(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, event_id: str, endpoint_id: str
) -> DeliveryRecord:
    """A new delivery of an event to an endpoint, due now (same webhook-id: receivers dedupe)."""
    async with UnitOfWork(sessions) as uow:
        event = await uow.events.get(merchant_id, event_id)
        if event is None:
            raise NotFound("no such event", ["input", "eventId"])
        endpoint = await _owned(uow, merchant_id, endpoint_id, field=["input", "endpointId"])
        if endpoint.disabled:
            raise InvalidState(
                "the endpoint is disabled: enable it with updateWebhookEndpoint first", ["input", "endpointId"]
            )
        delivery = await uow.webhooks.add_delivery(new_id("whd"), merchant_id, event.id, endpoint.id)
        await uow.webhooks.notify_due()
        await uow.commit()
    return delivery


async def requeue_failed(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, endpoint_id: str, since: datetime
) -> tuple[EndpointRecord, int]:
    """Every failed delivery of the endpoint created since `since` is due again (after an outage)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # the API's times are UTC
    async with UnitOfWork(sessions) as uow:
        endpoint = await _owned(uow, merchant_id, endpoint_id, field=["input", "endpointId"])
        if endpoint.disabled:
            raise InvalidState(
                "the endpoint is disabled: enable it with updateWebhookEndpoint first", ["input", "endpointId"]
            )
        count = await uow.webhooks.requeue_failed(endpoint_id, since)
        if count:
            await uow.webhooks.notify_due()
        await uow.commit()
    return endpoint, count


async def disable_endpoint(uow: UnitOfWork, endpoint_id: str, reason: str) -> bool:
    """Disable a live endpoint, stop its pending deliveries and record the event. False if already disabled."""
    endpoint = await uow.webhooks.disable_if_enabled(endpoint_id, reason)
    if endpoint is None:
        return False
    await uow.webhooks.fail_pending(endpoint_id)
    data = rules.endpoint_object(endpoint.id, endpoint.url, endpoint.enabled_events, True, reason, endpoint.created_at)
    await uow.events.add_many(
        [
            NewEvent(
                id=new_id("evt"),
                merchant_id=endpoint.merchant_id,
                type=rules.WEBHOOK_ENDPOINT_DISABLED,
                api_version=API_VERSION,
                data={"object": data},
                payment_intent_id=None,
                payment_intent_version=None,
                intent_snapshot=None,
                idempotency_key=None,
                created_at=now(),
            )
        ]
    )
    return True


async def _owned(
    uow: UnitOfWork,
    merchant_id: str,
    endpoint_id: str,
    *,
    lock: bool = False,
    field: list[str] | None = None,
) -> EndpointRecord:
    endpoint = await uow.webhooks.get_endpoint(merchant_id, endpoint_id, lock=lock)
    if endpoint is None:
        raise NotFound(NOT_FOUND_MESSAGE, field or ["input", "id"])
    return endpoint
