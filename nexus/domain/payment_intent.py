"""The payment intent aggregate: its state and the methods that change it.

Each state-changing method validates against the transition table, changes
state, bumps ``version`` by exactly one, stamps ``updated_at`` with the
``now`` it is given, and replaces ``pending_events`` with the event type(s)
that change records. The service layer writes those events (and the new
version) in the same transaction; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, TypedDict

from nexus.domain import events
from nexus.domain.bank import BankDecision
from nexus.domain.errors import (
    AmountTooSmall,
    CaptureExceedsAmount,
    InvalidInput,
    RefundExceedsAmount,
)
from nexus.domain.ids import new_id, new_secret
from nexus.domain.money import normalize_currency, validate_amount
from nexus.domain.status import Action, CaptureMethod, PaymentIntentStatus, ensure_allowed, next_status

# Stripe's limits, so integrations written for Stripe fit unchanged.
MAX_DESCRIPTION_LENGTH: Final = 1000
MAX_METADATA_KEYS: Final = 50
MAX_METADATA_KEY_LENGTH: Final = 40
MAX_METADATA_VALUE_LENGTH: Final = 500
# Same bound as a metadata value: a reason is a short note, not a document.
MAX_CANCELLATION_REASON_LENGTH: Final = 500

CARD_DECLINED: Final = "card_declined"
AUTHENTICATION_FAILURE: Final = "payment_intent_authentication_failure"
_AUTHENTICATION_FAILURE_MESSAGE: Final = (
    "The provided payment method has failed authentication. "
    "Provide a new payment method to attempt to fulfill this payment intent again."
)


class PaymentError(TypedDict):
    """``lastPaymentError``: why the latest attempt failed."""

    code: str
    decline_code: str | None
    message: str


@dataclass
class PaymentIntent:
    id: str
    merchant_id: str
    amount: int
    currency: str
    status: PaymentIntentStatus
    capture_method: CaptureMethod
    amount_capturable: int
    amount_received: int
    amount_refunded: int
    client_secret: str
    description: str | None
    metadata: dict[str, str] | None
    last_payment_error: PaymentError | None
    cancellation_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    # Not persisted: the event types recorded by the last state change.
    pending_events: list[str] = field(default_factory=list)

    def start_processing(self, now: datetime) -> None:
        """CREATED or FAILED -> PROCESSING; a new attempt clears the previous error."""
        self._move(next_status(self.status, Action.PROCESS), now, events.PAYMENT_INTENT_PROCESSING)
        self.last_payment_error = None

    def apply_decision(self, decision: BankDecision, now: datetime) -> None:
        """PROCESSING -> SUCCEEDED, REQUIRES_CAPTURE, REQUIRES_ACTION or FAILED."""
        if decision.outcome == "approved":
            self._approve(now)
        elif decision.outcome == "requires_action":
            target = next_status(self.status, Action.REQUIRE_ACTION)
            self._move(target, now, events.PAYMENT_INTENT_REQUIRES_ACTION)
        else:
            error = PaymentError(code=CARD_DECLINED, decline_code=decision.decline_code, message=decision.message)
            self._fail(Action.DECLINE, error, now)

    def authenticate(self, succeed: bool, now: datetime) -> None:
        """REQUIRES_ACTION -> PROCESSING (then ask the bank again) or FAILED."""
        if succeed:
            target = next_status(self.status, Action.AUTHENTICATE, succeed=True)
            self._move(target, now, events.PAYMENT_INTENT_PROCESSING)
            return
        error = PaymentError(code=AUTHENTICATION_FAILURE, decline_code=None, message=_AUTHENTICATION_FAILURE_MESSAGE)
        self._fail(Action.AUTHENTICATE, error, now)

    def capture(self, amount_to_capture: int | None, now: datetime) -> None:
        """REQUIRES_CAPTURE -> SUCCEEDED; a partial capture releases the rest."""
        ensure_allowed(self.status, Action.CAPTURE)
        amount = self.amount_capturable if amount_to_capture is None else amount_to_capture
        field_path = ["input", "amountToCapture"]
        if amount <= 0:
            raise AmountTooSmall("The amount to capture must be positive.", field_path)
        if amount > self.amount_capturable:
            raise CaptureExceedsAmount(
                f"The amount to capture may be at most the capturable {self.amount_capturable}.",
                field_path,
            )
        self._move(next_status(self.status, Action.CAPTURE), now, events.PAYMENT_INTENT_SUCCEEDED)
        self.amount_received = amount
        self.amount_capturable = 0

    def cancel(self, reason: str | None, now: datetime) -> None:
        """CREATED, FAILED, REQUIRES_ACTION or REQUIRES_CAPTURE -> CANCELED; releases funds."""
        target = next_status(self.status, Action.CANCEL)
        if reason is not None and len(reason) > MAX_CANCELLATION_REASON_LENGTH:
            raise InvalidInput(
                f"The reason may be at most {MAX_CANCELLATION_REASON_LENGTH} characters.",
                ["input", "reason"],
            )
        self._move(target, now, events.PAYMENT_INTENT_CANCELED)
        self.cancellation_reason = reason
        self.amount_capturable = 0

    def refund(self, amount: int | None, now: datetime) -> int:
        """Refund ``amount`` (default: all not yet refunded); returns it. Status stays SUCCEEDED."""
        ensure_allowed(self.status, Action.REFUND)
        refundable = self.amount_received - self.amount_refunded
        field_path = ["input", "amount"]
        if amount is None and refundable == 0:
            raise RefundExceedsAmount("This payment intent has already been fully refunded.", field_path)
        refund_amount = refundable if amount is None else amount
        if refund_amount <= 0:
            raise AmountTooSmall("The refund amount must be positive.", field_path)
        if refund_amount > refundable:
            raise RefundExceedsAmount(
                f"The refund amount may be at most the {refundable} not yet refunded.", field_path
            )
        self._move(next_status(self.status, Action.REFUND), now, events.REFUND_CREATED)
        self.amount_refunded += refund_amount
        return refund_amount

    def _approve(self, now: datetime) -> None:
        target = next_status(self.status, Action.APPROVE, self.capture_method)
        if target is PaymentIntentStatus.REQUIRES_CAPTURE:
            self._move(target, now, events.PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED)
            self.amount_capturable = self.amount
        else:
            self._move(target, now, events.PAYMENT_INTENT_SUCCEEDED)
            self.amount_received = self.amount

    def _fail(self, action: Action, error: PaymentError, now: datetime) -> None:
        target = next_status(self.status, action, succeed=False)
        self._move(target, now, events.PAYMENT_INTENT_PAYMENT_FAILED)
        self.last_payment_error = error

    def _move(self, target: PaymentIntentStatus, now: datetime, *event_types: str) -> None:
        # Callers validate first and mutate only after this: a refused change
        # leaves the intent untouched.
        events.unix_seconds(now)  # refuses a naive datetime before anything changes
        self.status = target
        self.version += 1
        self.updated_at = now
        self.pending_events = list(event_types)


def new_payment_intent(
    merchant_id: str,
    amount: int,
    currency: str,
    capture_method: CaptureMethod,
    description: str | None,
    metadata: Mapping[str, object] | None,
    now: datetime,
) -> PaymentIntent:
    """A validated CREATED intent at version 1, with event payment_intent.created."""
    code = normalize_currency(currency)
    validate_amount(amount, code, ["input", "amount"])
    _validate_description(description)
    events.unix_seconds(now)
    intent_id = new_id("pi")
    return PaymentIntent(
        id=intent_id,
        merchant_id=merchant_id,
        amount=amount,
        currency=code,
        status=PaymentIntentStatus.CREATED,
        capture_method=capture_method,
        amount_capturable=0,
        amount_received=0,
        amount_refunded=0,
        client_secret=f"{intent_id}_secret_{new_secret()}",
        description=description,
        metadata=validate_metadata(metadata),
        last_payment_error=None,
        cancellation_reason=None,
        version=1,
        created_at=now,
        updated_at=now,
        pending_events=[events.PAYMENT_INTENT_CREATED],
    )


def _validate_description(description: str | None) -> None:
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"The description may be at most {MAX_DESCRIPTION_LENGTH} characters.",
            ["input", "description"],
        )


def validate_metadata(metadata: Mapping[str, object] | None) -> dict[str, str] | None:
    """A copy of ``metadata`` within Stripe's limits, or InvalidInput naming the field."""
    if metadata is None:
        return None
    path = ["input", "metadata"]
    if not isinstance(metadata, Mapping):
        raise InvalidInput("Metadata must be an object of string keys and string values.", path)
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidInput(f"Metadata may have at most {MAX_METADATA_KEYS} keys.", path)
    for key, value in metadata.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_METADATA_KEY_LENGTH:
            raise InvalidInput(f"Metadata keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters.", path)
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_LENGTH:
            raise InvalidInput(
                f"Metadata values must be strings of at most {MAX_METADATA_VALUE_LENGTH} characters.",
                [*path, key],
            )
    return {str(key): str(value) for key, value in metadata.items()}
