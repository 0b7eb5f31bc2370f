"""Webhook endpoint rules: input limits and the event recorded when one is disabled."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from nexus.domain.errors import InvalidInput
from nexus.domain.events import unix_seconds

# Not a payment event: kept out of ALL_EVENT_TYPES, so endpoints cannot subscribe to
# it by name, but "*" endpoints and the events list/subscription see it.
WEBHOOK_ENDPOINT_DISABLED: Final = "webhook_endpoint.disabled"
MAX_DESCRIPTION = 500  # the column's width
# The longest overlap a rotated secret may keep signing: Stripe allows up to 7 days.
MAX_EXPIRE_CURRENT_S = 7 * 24 * 3600
DEFAULT_EXPIRE_CURRENT_S = 24 * 3600

REASON_GONE: Final = "the endpoint answered 410 Gone"
REASON_FAILING: Final = "every delivery failed for {days:g} days"
REASON_MERCHANT: Final = "disabled by the merchant"


def validate_description(description: str | None, field: list[str]) -> str | None:
    if description is None:
        return None
    if len(description) > MAX_DESCRIPTION or "\x00" in description:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION} characters", field)
    return description


def validate_expire_current(seconds: int, field: list[str]) -> int:
    if not 0 <= seconds <= MAX_EXPIRE_CURRENT_S:
        raise InvalidInput(f"expireCurrentInSeconds must be between 0 and {MAX_EXPIRE_CURRENT_S}", field)
    return seconds


def endpoint_object(
    id: str,  # the contract's name for the field
    url: str,
    enabled_events: list[str],
    disabled: bool,
    disabled_reason: str | None,
    created: datetime,
) -> dict[str, Any]:
    """An endpoint as an event's ``data.object`` (never its secret)."""
    return {
        "id": id,
        "object": "webhook_endpoint",
        "url": url,
        "enabled_events": list(enabled_events),
        "status": "disabled" if disabled else "enabled",
        "disabled_reason": disabled_reason,
        "created": unix_seconds(created),
    }
