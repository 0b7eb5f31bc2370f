"""The payment-intent state machine: statuses, actions and the transition table.

Drawn in DESIGN.md::

    CREATED --process--> PROCESSING --approve (AUTOMATIC)--> SUCCEEDED
                         PROCESSING --approve (MANUAL)--> REQUIRES_CAPTURE --capture--> SUCCEEDED
                         PROCESSING --require_action--> REQUIRES_ACTION --authenticate--> PROCESSING
                         PROCESSING --decline--> FAILED --process (new card)--> PROCESSING
    CREATED, FAILED, REQUIRES_ACTION, REQUIRES_CAPTURE --cancel--> CANCELED
    SUCCEEDED --refund--> SUCCEEDED (amounts change, status does not)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from nexus.domain.errors import InvalidState


class PaymentIntentStatus(StrEnum):
    CREATED = "CREATED"
    PROCESSING = "PROCESSING"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    REQUIRES_CAPTURE = "REQUIRES_CAPTURE"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class CaptureMethod(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"


class RiskLevel(StrEnum):
    NORMAL = "NORMAL"
    ELEVATED = "ELEVATED"
    HIGHEST = "HIGHEST"


class Action(StrEnum):
    PROCESS = "PROCESS"
    APPROVE = "APPROVE"
    REQUIRE_ACTION = "REQUIRE_ACTION"
    DECLINE = "DECLINE"
    AUTHENTICATE = "AUTHENTICATE"
    CAPTURE = "CAPTURE"
    CANCEL = "CANCEL"
    REFUND = "REFUND"


_S = PaymentIntentStatus

# (status, action) -> status after it; ``None`` means allowed but the status
# does not change (refunds). A pair missing from the table is refused. Two
# targets depend on more than the pair, see ``next_status``: APPROVE goes to
# REQUIRES_CAPTURE for MANUAL capture, and a failed AUTHENTICATE goes to FAILED.
TRANSITIONS: Final[dict[tuple[PaymentIntentStatus, Action], PaymentIntentStatus | None]] = {
    (_S.CREATED, Action.PROCESS): _S.PROCESSING,
    (_S.FAILED, Action.PROCESS): _S.PROCESSING,
    (_S.PROCESSING, Action.APPROVE): _S.SUCCEEDED,
    (_S.PROCESSING, Action.REQUIRE_ACTION): _S.REQUIRES_ACTION,
    (_S.PROCESSING, Action.DECLINE): _S.FAILED,
    (_S.REQUIRES_ACTION, Action.AUTHENTICATE): _S.PROCESSING,
    (_S.REQUIRES_CAPTURE, Action.CAPTURE): _S.SUCCEEDED,
    (_S.CREATED, Action.CANCEL): _S.CANCELED,
    (_S.FAILED, Action.CANCEL): _S.CANCELED,
    (_S.REQUIRES_ACTION, Action.CANCEL): _S.CANCELED,
    (_S.REQUIRES_CAPTURE, Action.CANCEL): _S.CANCELED,
    (_S.SUCCEEDED, Action.REFUND): None,
}

# Verbs for error messages: "cannot <verb> a payment intent in status X".
_VERBS: Final[dict[Action, str]] = {
    Action.PROCESS: "process",
    Action.APPROVE: "approve",
    Action.REQUIRE_ACTION: "require action on",
    Action.DECLINE: "decline",
    Action.AUTHENTICATE: "authenticate",
    Action.CAPTURE: "capture",
    Action.CANCEL: "cancel",
    Action.REFUND: "refund",
}


def is_allowed(status: PaymentIntentStatus, action: Action) -> bool:
    return (status, action) in TRANSITIONS


def ensure_allowed(status: PaymentIntentStatus, action: Action) -> None:
    """Raise InvalidState unless ``action`` may be taken in ``status``."""
    if not is_allowed(status, action):
        raise InvalidState(f"cannot {_VERBS[action]} a payment intent in status {status.value}")


def next_status(
    status: PaymentIntentStatus,
    action: Action,
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC,
    *,
    succeed: bool = True,
) -> PaymentIntentStatus:
    """The status after ``action``; raises InvalidState when the table refuses it.

    ``capture_method`` matters only to APPROVE and ``succeed`` only to AUTHENTICATE.
    """
    ensure_allowed(status, action)
    if action is Action.APPROVE and capture_method is CaptureMethod.MANUAL:
        return PaymentIntentStatus.REQUIRES_CAPTURE
    if action is Action.AUTHENTICATE and not succeed:
        return PaymentIntentStatus.FAILED
    target = TRANSITIONS[(status, action)]
    return status if target is None else target
