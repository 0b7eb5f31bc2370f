"""Expected failures, as one tree of typed exceptions with stable codes.

The GraphQL layer maps ``code`` to ``UserError.code`` (or to a top-level
error for :class:`RequestRefused`), so a client can branch on it. Messages
are shown to API clients and logged: they must never contain a secret, an
API key or a card number.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class ErrorCode(enum.StrEnum):
    """The machine-readable error codes of the API contract (values = names)."""

    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    INVALID_STATE = "INVALID_STATE"
    AMOUNT_TOO_LARGE = "AMOUNT_TOO_LARGE"
    AMOUNT_TOO_SMALL = "AMOUNT_TOO_SMALL"
    UNSUPPORTED_CURRENCY = "UNSUPPORTED_CURRENCY"
    INVALID_CARD = "INVALID_CARD"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    REFUND_EXCEEDS_AMOUNT = "REFUND_EXCEEDS_AMOUNT"
    CAPTURE_EXCEEDS_AMOUNT = "CAPTURE_EXCEEDS_AMOUNT"
    INVALID_URL = "INVALID_URL"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"


class DomainError(Exception):
    """Root of every expected failure; never raised itself, only its leaves.

    ``field`` is the path of the offending input in GraphQL terms, e.g.
    ``["input", "card", "number"]``, or ``None`` when no single field is at fault.
    """

    code: ClassVar[ErrorCode]

    def __init__(self, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Copied so that a caller mutating its list cannot change a raised error.
        self.field = list(field) if field is not None else None

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    code = ErrorCode.INVALID_INPUT


class NotFound(DomainError):
    """Missing, or owned by another merchant: the two must look the same."""

    code = ErrorCode.NOT_FOUND


class InvalidState(DomainError):
    code = ErrorCode.INVALID_STATE


class AmountTooLarge(DomainError):
    code = ErrorCode.AMOUNT_TOO_LARGE


class AmountTooSmall(DomainError):
    code = ErrorCode.AMOUNT_TOO_SMALL


class UnsupportedCurrency(DomainError):
    code = ErrorCode.UNSUPPORTED_CURRENCY


class InvalidCard(DomainError):
    code = ErrorCode.INVALID_CARD


class IdempotencyKeyReused(DomainError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class IdempotencyKeyInUse(DomainError):
    code = ErrorCode.IDEMPOTENCY_KEY_IN_USE


class RefundExceedsAmount(DomainError):
    code = ErrorCode.REFUND_EXCEEDS_AMOUNT


class CaptureExceedsAmount(DomainError):
    code = ErrorCode.CAPTURE_EXCEEDS_AMOUNT


class InvalidUrl(DomainError):
    code = ErrorCode.INVALID_URL


class RequestRefused(DomainError):
    """The request as a whole is refused before any use case runs.

    Its leaves are rendered as top-level GraphQL errors (``extensions.code``),
    never as ``userErrors``: there is no payload to attach them to.
    """


class Unauthenticated(RequestRefused):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(RequestRefused):
    code = ErrorCode.FORBIDDEN


class RateLimited(RequestRefused):
    """Too many requests; ``retry_after`` is in seconds (``extensions.retryAfter``)."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float, field: list[str] | None = None) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after
