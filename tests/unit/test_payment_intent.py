"""The payment intent aggregate: creation, every state change, amounts, versions, events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from nexus.domain import events
from nexus.domain.bank import BankDecision
from nexus.domain.errors import (
    AmountTooLarge,
    AmountTooSmall,
    CaptureExceedsAmount,
    InvalidInput,
    InvalidState,
    RefundExceedsAmount,
    UnsupportedCurrency,
)
from nexus.domain.payment_intent import PaymentIntent, new_payment_intent
from nexus.domain.status import CaptureMethod, PaymentIntentStatus, RiskLevel

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)

MakeIntent = Callable[..., PaymentIntent]


def approved() -> BankDecision:
    return BankDecision("approved", None, 10, RiskLevel.NORMAL, (), "approved_by_network")


def declined(code: str = "insufficient_funds") -> BankDecision:
    return BankDecision("declined", code, 10, RiskLevel.NORMAL, (), "declined_by_network")


def blocked() -> BankDecision:
    return BankDecision("blocked", "fraudulent", 95, RiskLevel.HIGHEST, ("velocity",), "not_sent_to_network")


def requires_action() -> BankDecision:
    return BankDecision("requires_action", None, 10, RiskLevel.NORMAL, (), "requires_authentication")


def state(intent: PaymentIntent) -> tuple[PaymentIntentStatus, list[str]]:
    return intent.status, intent.pending_events


@pytest.fixture
def make_intent() -> MakeIntent:
    def make(
        amount: int = 2000,
        currency: str = "usd",
        capture_method: CaptureMethod = CaptureMethod.AUTOMATIC,
    ) -> PaymentIntent:
        return new_payment_intent("mer_1", amount, currency, capture_method, None, None, NOW)

    return make


@pytest.fixture
def succeeded(make_intent: MakeIntent) -> PaymentIntent:
    """2000 usd cents, paid in full; version 3."""
    intent = make_intent()
    intent.start_processing(NOW)
    intent.apply_decision(approved(), NOW)
    return intent


@pytest.fixture
def authorized(make_intent: MakeIntent) -> PaymentIntent:
    """2000 usd cents, manual capture, authorized and awaiting capture; version 3."""
    intent = make_intent(capture_method=CaptureMethod.MANUAL)
    intent.start_processing(NOW)
    intent.apply_decision(approved(), NOW)
    return intent


class TestCreation:
    def test_a_new_intent_is_created_at_version_one(self) -> None:
        intent = new_payment_intent("mer_1", 2000, "USD", CaptureMethod.MANUAL, "Order 42", {"order": "42"}, NOW)
        assert intent.status is PaymentIntentStatus.CREATED
        assert intent.version == 1
        assert intent.currency == "usd"
        assert intent.capture_method is CaptureMethod.MANUAL
        assert (intent.amount, intent.amount_capturable, intent.amount_received, intent.amount_refunded) == (
            2000,
            0,
            0,
            0,
        )
        assert intent.description == "Order 42"
        assert intent.metadata == {"order": "42"}
        assert intent.last_payment_error is None
        assert intent.cancellation_reason is None
        assert intent.created_at == intent.updated_at == NOW
        assert intent.pending_events == [events.PAYMENT_INTENT_CREATED]

    def test_ids_and_client_secret_have_stripe_shapes(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        assert intent.id.startswith("pi_")
        assert len(intent.id) == len("pi_") + 24
        secret_prefix = f"{intent.id}_secret_"
        assert intent.client_secret.startswith(secret_prefix)
        assert len(intent.client_secret) - len(secret_prefix) >= 43  # 32 random bytes
        assert make_intent().id != intent.id

    @pytest.mark.parametrize("amount", [0, -1, 49])
    def test_amounts_below_the_minimum_are_refused(self, make_intent: MakeIntent, amount: int) -> None:
        with pytest.raises(AmountTooSmall) as raised:
            make_intent(amount=amount)
        assert raised.value.field == ["input", "amount"]

    def test_amounts_above_the_maximum_are_refused(self, make_intent: MakeIntent) -> None:
        with pytest.raises(AmountTooLarge):
            make_intent(amount=100_000_000)

    def test_unknown_currencies_are_refused(self, make_intent: MakeIntent) -> None:
        with pytest.raises(UnsupportedCurrency):
            make_intent(currency="xyz")

    def test_descriptions_up_to_1000_characters_are_kept(self) -> None:
        text = "d" * 1000
        intent = new_payment_intent("mer_1", 2000, "usd", CaptureMethod.AUTOMATIC, text, None, NOW)
        assert intent.description == text

    def test_longer_descriptions_are_refused(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            new_payment_intent("mer_1", 2000, "usd", CaptureMethod.AUTOMATIC, "d" * 1001, None, NOW)
        assert raised.value.field == ["input", "description"]

    def test_metadata_at_stripes_limits_is_kept(self) -> None:
        metadata = {f"key{i:02d}".ljust(40, "k"): "v" * 500 for i in range(50)}
        intent = new_payment_intent("mer_1", 2000, "usd", CaptureMethod.AUTOMATIC, None, metadata, NOW)
        assert intent.metadata == metadata
        assert intent.metadata is not metadata  # a copy: the caller's dict may change later

    @pytest.mark.parametrize(
        ("metadata", "field"),
        [
            ({f"k{i}": "v" for i in range(51)}, ["input", "metadata"]),
            ({"k" * 41: "v"}, ["input", "metadata"]),
            ({"": "v"}, ["input", "metadata"]),
            ({"note": "v" * 501}, ["input", "metadata", "note"]),
            ({"count": 3}, ["input", "metadata", "count"]),
            ({"nested": {"a": "b"}}, ["input", "metadata", "nested"]),
        ],
    )
    def test_metadata_beyond_the_limits_is_refused(self, metadata: dict[str, object], field: list[str]) -> None:
        with pytest.raises(InvalidInput) as raised:
            new_payment_intent("mer_1", 2000, "usd", CaptureMethod.AUTOMATIC, None, metadata, NOW)
        assert raised.value.field == field

    def test_metadata_that_is_not_an_object_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            new_payment_intent("mer_1", 2000, "usd", CaptureMethod.AUTOMATIC, None, ["a"], NOW)  # type: ignore[arg-type]

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            new_payment_intent("mer_1", 2000, "usd", CaptureMethod.AUTOMATIC, None, None, datetime(2026, 1, 1))


class TestProcessing:
    def test_processing_is_a_version_of_its_own(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        intent.start_processing(LATER)
        assert intent.status is PaymentIntentStatus.PROCESSING
        assert intent.version == 2
        assert intent.updated_at == LATER
        assert intent.created_at == NOW
        assert intent.pending_events == [events.PAYMENT_INTENT_PROCESSING]

    def test_automatic_capture_approval_succeeds_with_the_full_amount(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        intent.start_processing(NOW)
        intent.apply_decision(approved(), LATER)
        assert intent.status is PaymentIntentStatus.SUCCEEDED
        assert intent.amount_received == 2000
        assert intent.amount_capturable == 0
        assert intent.version == 3
        assert intent.pending_events == [events.PAYMENT_INTENT_SUCCEEDED]

    def test_manual_capture_approval_makes_the_amount_capturable(self, authorized: PaymentIntent) -> None:
        assert authorized.status is PaymentIntentStatus.REQUIRES_CAPTURE
        assert authorized.amount_capturable == 2000
        assert authorized.amount_received == 0
        assert authorized.pending_events == [events.PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED]

    @pytest.mark.parametrize("decision", [declined(), blocked()], ids=["declined", "blocked"])
    def test_a_decline_fails_the_intent_with_card_declined(
        self, make_intent: MakeIntent, decision: BankDecision
    ) -> None:
        intent = make_intent()
        intent.start_processing(NOW)
        intent.apply_decision(decision, LATER)
        assert intent.status is PaymentIntentStatus.FAILED
        assert intent.last_payment_error == {
            "code": "card_declined",
            "decline_code": decision.decline_code,
            "message": decision.message,
        }
        assert intent.pending_events == [events.PAYMENT_INTENT_PAYMENT_FAILED]
        assert intent.version == 3

    def test_a_failed_intent_can_be_processed_again_which_clears_the_error(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        intent.start_processing(NOW)
        intent.apply_decision(declined(), NOW)
        intent.start_processing(LATER)
        assert intent.status is PaymentIntentStatus.PROCESSING
        assert intent.last_payment_error is None
        assert intent.version == 4

    def test_three_d_secure_then_success(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        intent.start_processing(NOW)
        intent.apply_decision(requires_action(), NOW)
        assert state(intent) == (PaymentIntentStatus.REQUIRES_ACTION, [events.PAYMENT_INTENT_REQUIRES_ACTION])
        intent.authenticate(True, NOW)
        assert state(intent) == (PaymentIntentStatus.PROCESSING, [events.PAYMENT_INTENT_PROCESSING])
        intent.apply_decision(approved(), NOW)
        assert state(intent) == (PaymentIntentStatus.SUCCEEDED, [events.PAYMENT_INTENT_SUCCEEDED])
        assert intent.version == 5

    def test_three_d_secure_failure_fails_with_authentication_failure(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        intent.start_processing(NOW)
        intent.apply_decision(requires_action(), NOW)
        intent.authenticate(False, LATER)
        assert intent.status is PaymentIntentStatus.FAILED
        assert intent.last_payment_error is not None
        assert intent.last_payment_error["code"] == "payment_intent_authentication_failure"
        assert intent.last_payment_error["decline_code"] is None
        assert intent.pending_events == [events.PAYMENT_INTENT_PAYMENT_FAILED]
        assert intent.version == 4

    def test_a_decision_for_an_intent_not_processing_is_refused(self, succeeded: PaymentIntent) -> None:
        with pytest.raises(InvalidState):
            succeeded.apply_decision(approved(), LATER)

    def test_authenticate_outside_requires_action_is_refused(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        for succeed in (True, False):
            with pytest.raises(InvalidState):
                intent.authenticate(succeed, NOW)
        assert intent.version == 1


class TestCapture:
    def test_capture_defaults_to_everything_capturable(self, authorized: PaymentIntent) -> None:
        authorized.capture(None, LATER)
        assert authorized.status is PaymentIntentStatus.SUCCEEDED
        assert (authorized.amount_received, authorized.amount_capturable) == (2000, 0)
        assert authorized.version == 4
        assert authorized.updated_at == LATER
        assert authorized.pending_events == [events.PAYMENT_INTENT_SUCCEEDED]

    def test_a_partial_capture_releases_the_rest(self, authorized: PaymentIntent) -> None:
        authorized.capture(1500, LATER)
        assert authorized.status is PaymentIntentStatus.SUCCEEDED
        assert (authorized.amount_received, authorized.amount_capturable) == (1500, 0)

    def test_capturing_more_than_capturable_is_refused_and_changes_nothing(self, authorized: PaymentIntent) -> None:
        with pytest.raises(CaptureExceedsAmount) as raised:
            authorized.capture(2001, LATER)
        assert raised.value.field == ["input", "amountToCapture"]
        assert authorized.status is PaymentIntentStatus.REQUIRES_CAPTURE
        assert authorized.version == 3

    @pytest.mark.parametrize("amount", [0, -5])
    def test_capturing_nothing_is_refused(self, authorized: PaymentIntent, amount: int) -> None:
        with pytest.raises(AmountTooSmall):
            authorized.capture(amount, LATER)
        assert authorized.version == 3

    def test_capture_of_an_automatic_intent_is_refused(self, succeeded: PaymentIntent) -> None:
        with pytest.raises(InvalidState, match="cannot capture a payment intent in status SUCCEEDED"):
            succeeded.capture(None, LATER)


class TestCancel:
    def test_cancel_an_authorization_releases_it(self, authorized: PaymentIntent) -> None:
        authorized.cancel("requested_by_customer", LATER)
        assert authorized.status is PaymentIntentStatus.CANCELED
        assert authorized.cancellation_reason == "requested_by_customer"
        assert authorized.amount_capturable == 0
        assert authorized.version == 4
        assert authorized.pending_events == [events.PAYMENT_INTENT_CANCELED]

    def test_cancel_without_a_reason(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        intent.cancel(None, LATER)
        assert intent.status is PaymentIntentStatus.CANCELED
        assert intent.cancellation_reason is None

    def test_cancel_a_succeeded_intent_is_refused(self, succeeded: PaymentIntent) -> None:
        with pytest.raises(InvalidState):
            succeeded.cancel(None, LATER)
        assert succeeded.version == 3

    def test_a_very_long_reason_is_refused(self, make_intent: MakeIntent) -> None:
        intent = make_intent()
        with pytest.raises(InvalidInput):
            intent.cancel("r" * 501, LATER)
        assert intent.status is PaymentIntentStatus.CREATED


class TestRefund:
    def test_partial_refunds_up_to_the_received_amount(self, succeeded: PaymentIntent) -> None:
        assert succeeded.refund(500, LATER) == 500
        assert succeeded.refund(700, LATER) == 700
        assert succeeded.refund(800, LATER) == 800
        assert succeeded.amount_refunded == 2000
        assert succeeded.status is PaymentIntentStatus.SUCCEEDED
        assert succeeded.version == 6
        assert succeeded.pending_events == [events.REFUND_CREATED]

    def test_a_refund_beyond_what_remains_is_refused_and_changes_nothing(self, succeeded: PaymentIntent) -> None:
        succeeded.refund(1500, LATER)
        with pytest.raises(RefundExceedsAmount) as raised:
            succeeded.refund(501, LATER)
        assert raised.value.field == ["input", "amount"]
        assert succeeded.amount_refunded == 1500
        assert succeeded.version == 4
        assert succeeded.refund(500, LATER) == 500

    def test_the_default_refund_is_everything_not_yet_refunded(self, succeeded: PaymentIntent) -> None:
        succeeded.refund(300, LATER)
        assert succeeded.refund(None, LATER) == 1700
        assert succeeded.amount_refunded == 2000

    def test_a_fully_refunded_intent_refuses_another_refund(self, succeeded: PaymentIntent) -> None:
        succeeded.refund(None, LATER)
        for amount in (None, 1):
            with pytest.raises(RefundExceedsAmount):
                succeeded.refund(amount, LATER)

    def test_refunds_are_bounded_by_the_captured_not_the_authorized_amount(self, authorized: PaymentIntent) -> None:
        authorized.capture(1200, LATER)
        with pytest.raises(RefundExceedsAmount):
            authorized.refund(1201, LATER)
        assert authorized.refund(None, LATER) == 1200

    @pytest.mark.parametrize("amount", [0, -100])
    def test_refunding_nothing_is_refused(self, succeeded: PaymentIntent, amount: int) -> None:
        with pytest.raises(AmountTooSmall):
            succeeded.refund(amount, LATER)

    def test_refund_before_success_is_refused(self, authorized: PaymentIntent) -> None:
        with pytest.raises(InvalidState, match="cannot refund a payment intent in status REQUIRES_CAPTURE"):
            authorized.refund(None, LATER)


def test_every_change_bumps_the_version_by_exactly_one(make_intent: MakeIntent) -> None:
    intent = make_intent(capture_method=CaptureMethod.MANUAL)
    steps: list[Callable[[], object]] = [
        lambda: intent.start_processing(NOW),
        lambda: intent.apply_decision(declined(), NOW),
        lambda: intent.start_processing(NOW),
        lambda: intent.apply_decision(requires_action(), NOW),
        lambda: intent.authenticate(True, NOW),
        lambda: intent.apply_decision(approved(), NOW),
        lambda: intent.capture(1000, NOW),
        lambda: intent.refund(400, NOW),
        lambda: intent.refund(None, NOW),
    ]
    for step in steps:
        before = intent.version
        step()
        assert intent.version == before + 1
        assert len(intent.pending_events) == 1
    assert intent.version == 1 + len(steps)


def test_a_refused_change_leaves_the_intent_exactly_as_it_was(make_intent: MakeIntent) -> None:
    intent = make_intent()
    snapshot = repr(intent)
    for attempt in (
        lambda: intent.capture(None, LATER),
        lambda: intent.refund(None, LATER),
        lambda: intent.apply_decision(approved(), LATER),
        lambda: intent.authenticate(True, LATER),
    ):
        with pytest.raises(InvalidState):
            attempt()
    assert repr(intent) == snapshot


def test_naive_now_is_refused_before_anything_changes(make_intent: MakeIntent) -> None:
    intent = make_intent()
    with pytest.raises(ValueError, match="timezone-aware"):
        intent.start_processing(datetime(2026, 11, 28, 12, 0))
    assert intent.status is PaymentIntentStatus.CREATED
    assert intent.version == 1
