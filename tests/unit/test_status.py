"""The transition table, checked over the whole status x action product.

The expected table is written out again here, from DESIGN.md's diagram,
rather than read from the code under test.
"""

from __future__ import annotations

import itertools

import pytest

from nexus.domain.errors import ErrorCode, InvalidState
from nexus.domain.status import (
    TRANSITIONS,
    Action,
    CaptureMethod,
    PaymentIntentStatus,
    RiskLevel,
    ensure_allowed,
    is_allowed,
    next_status,
)

S = PaymentIntentStatus
A = Action

# (status, action) -> status after it, for AUTOMATIC capture and a passed challenge.
EXPECTED: dict[tuple[PaymentIntentStatus, Action], PaymentIntentStatus] = {
    (S.CREATED, A.PROCESS): S.PROCESSING,
    (S.FAILED, A.PROCESS): S.PROCESSING,
    (S.PROCESSING, A.APPROVE): S.SUCCEEDED,
    (S.PROCESSING, A.REQUIRE_ACTION): S.REQUIRES_ACTION,
    (S.PROCESSING, A.DECLINE): S.FAILED,
    (S.REQUIRES_ACTION, A.AUTHENTICATE): S.PROCESSING,
    (S.REQUIRES_CAPTURE, A.CAPTURE): S.SUCCEEDED,
    (S.CREATED, A.CANCEL): S.CANCELED,
    (S.FAILED, A.CANCEL): S.CANCELED,
    (S.REQUIRES_ACTION, A.CANCEL): S.CANCELED,
    (S.REQUIRES_CAPTURE, A.CANCEL): S.CANCELED,
    (S.SUCCEEDED, A.REFUND): S.SUCCEEDED,
}

ALLOWED = sorted(EXPECTED, key=str)
REFUSED = [pair for pair in itertools.product(S, A) if pair not in EXPECTED]
VERBS = {
    A.PROCESS: "process",
    A.APPROVE: "approve",
    A.REQUIRE_ACTION: "require action on",
    A.DECLINE: "decline",
    A.AUTHENTICATE: "authenticate",
    A.CAPTURE: "capture",
    A.CANCEL: "cancel",
    A.REFUND: "refund",
}


def pair_id(pair: tuple[PaymentIntentStatus, Action]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def test_enum_values_equal_their_names() -> None:
    for enum in (PaymentIntentStatus, CaptureMethod, RiskLevel, Action):
        assert [member.value for member in enum] == [member.name for member in enum]


def test_the_table_holds_exactly_the_expected_pairs() -> None:
    assert set(TRANSITIONS) == set(EXPECTED)
    assert len(ALLOWED) + len(REFUSED) == len(S) * len(A)


@pytest.mark.parametrize("pair", ALLOWED, ids=pair_id)
def test_allowed_transition(pair: tuple[PaymentIntentStatus, Action]) -> None:
    status, action = pair
    assert is_allowed(status, action)
    ensure_allowed(status, action)
    assert next_status(status, action) is EXPECTED[pair]


@pytest.mark.parametrize("pair", REFUSED, ids=pair_id)
def test_refused_transition(pair: tuple[PaymentIntentStatus, Action]) -> None:
    status, action = pair
    assert not is_allowed(status, action)
    expected = f"cannot {VERBS[action]} a payment intent in status {status.value}"
    for check in (ensure_allowed, next_status):
        with pytest.raises(InvalidState) as raised:
            check(status, action)
        assert raised.value.code is ErrorCode.INVALID_STATE
        assert raised.value.message == expected


def test_terminal_statuses_allow_nothing_but_refunds() -> None:
    assert [a for a in A if is_allowed(S.CANCELED, a)] == []
    assert [a for a in A if is_allowed(S.SUCCEEDED, a)] == [A.REFUND]


def test_manual_capture_approval_goes_to_requires_capture() -> None:
    assert next_status(S.PROCESSING, A.APPROVE, CaptureMethod.MANUAL) is S.REQUIRES_CAPTURE
    assert next_status(S.PROCESSING, A.APPROVE, CaptureMethod.AUTOMATIC) is S.SUCCEEDED


def test_a_failed_challenge_goes_to_failed() -> None:
    assert next_status(S.REQUIRES_ACTION, A.AUTHENTICATE, succeed=False) is S.FAILED
    assert next_status(S.REQUIRES_ACTION, A.AUTHENTICATE, succeed=True) is S.PROCESSING


def test_the_variants_do_not_open_refused_pairs() -> None:
    with pytest.raises(InvalidState):
        next_status(S.CREATED, A.APPROVE, CaptureMethod.MANUAL)
    with pytest.raises(InvalidState):
        next_status(S.PROCESSING, A.AUTHENTICATE, succeed=False)


def test_the_message_example_of_the_contract() -> None:
    with pytest.raises(InvalidState, match=r"^cannot capture a payment intent in status FAILED$"):
        ensure_allowed(S.FAILED, A.CAPTURE)
