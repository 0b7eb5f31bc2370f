"""The error tree: codes, fields, and the rate-limit detail."""

from __future__ import annotations

import pytest

from nexus.domain import errors
from nexus.domain.errors import DomainError, ErrorCode, RateLimited, RequestRefused

LEAVES: dict[type[DomainError], ErrorCode] = {
    errors.InvalidInput: ErrorCode.INVALID_INPUT,
    errors.NotFound: ErrorCode.NOT_FOUND,
    errors.InvalidState: ErrorCode.INVALID_STATE,
    errors.AmountTooLarge: ErrorCode.AMOUNT_TOO_LARGE,
    errors.AmountTooSmall: ErrorCode.AMOUNT_TOO_SMALL,
    errors.UnsupportedCurrency: ErrorCode.UNSUPPORTED_CURRENCY,
    errors.InvalidCard: ErrorCode.INVALID_CARD,
    errors.IdempotencyKeyReused: ErrorCode.IDEMPOTENCY_KEY_REUSED,
    errors.IdempotencyKeyInUse: ErrorCode.IDEMPOTENCY_KEY_IN_USE,
    errors.RefundExceedsAmount: ErrorCode.REFUND_EXCEEDS_AMOUNT,
    errors.CaptureExceedsAmount: ErrorCode.CAPTURE_EXCEEDS_AMOUNT,
    errors.InvalidUrl: ErrorCode.INVALID_URL,
    errors.Unauthenticated: ErrorCode.UNAUTHENTICATED,
    errors.Forbidden: ErrorCode.FORBIDDEN,
    errors.RateLimited: ErrorCode.RATE_LIMITED,
}


def test_codes_are_strings_equal_to_their_names() -> None:
    assert len(ErrorCode) == 15
    for code in ErrorCode:
        assert isinstance(code, str)
        assert code.value == code.name
        assert code == code.name


def test_every_code_has_exactly_one_exception() -> None:
    assert sorted(LEAVES.values()) == sorted(ErrorCode)


@pytest.mark.parametrize("cls", [cls for cls in LEAVES if cls is not RateLimited], ids=lambda c: c.__name__)
def test_each_leaf_carries_its_code_message_and_field(cls: type[DomainError]) -> None:
    field = ["input", "amount"]
    error = cls("Something is wrong.", field)
    assert isinstance(error, DomainError)
    assert error.code is LEAVES[cls]
    assert error.message == str(error) == "Something is wrong."
    assert error.field == field
    field.append("changed")
    assert error.field == ["input", "amount"]
    assert cls("No field.").field is None


def test_rate_limited_carries_retry_after() -> None:
    error = RateLimited("Too many requests.", retry_after=1.5)
    assert error.retry_after == 1.5
    assert error.code is ErrorCode.RATE_LIMITED


def test_request_refusals_form_their_own_branch() -> None:
    refused = {cls for cls in LEAVES if issubclass(cls, RequestRefused)}
    assert refused == {errors.Unauthenticated, errors.Forbidden, errors.RateLimited}
