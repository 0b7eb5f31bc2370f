"""Idempotency: every decision branch, its boundaries, keys and fingerprints."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from nexus.domain.errors import InvalidInput
from nexus.domain.idempotency import (
    KEY_TTL,
    LOCK_TIMEOUT,
    MAX_KEY_LENGTH,
    Decision,
    StoredKey,
    decide,
    request_fingerprint,
    validate_key,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FINGERPRINT = "f" * 64


def stored(
    *,
    fingerprint: str = FINGERPRINT,
    age: timedelta = timedelta(seconds=5),
    locked_for: timedelta | None = None,
    response: dict[str, Any] | None = None,
) -> StoredKey:
    return StoredKey(
        fingerprint=fingerprint,
        locked_at=NOW - locked_for if locked_for is not None else None,
        response=response,
        recovery_point="started",
        created_at=NOW - age,
    )


def test_constants() -> None:
    assert MAX_KEY_LENGTH == 255
    assert timedelta(hours=24) == KEY_TTL
    assert timedelta(seconds=30) < LOCK_TIMEOUT <= timedelta(minutes=5)


def test_a_new_key_executes() -> None:
    assert decide(None, FINGERPRINT, NOW) is Decision.EXECUTE


def test_a_finished_request_replays() -> None:
    assert decide(stored(response={"ok": True}), FINGERPRINT, NOW) is Decision.REPLAY


def test_a_different_request_under_the_same_key_is_reused() -> None:
    assert decide(stored(fingerprint="0" * 64), FINGERPRINT, NOW) is Decision.REUSED
    finished = stored(fingerprint="0" * 64, response={"ok": True})
    assert decide(finished, FINGERPRINT, NOW) is Decision.REUSED


def test_a_request_still_running_is_in_use() -> None:
    assert decide(stored(locked_for=timedelta(seconds=1)), FINGERPRINT, NOW) is Decision.IN_USE


def test_the_lock_is_fresh_up_to_the_timeout_and_stale_after() -> None:
    assert decide(stored(locked_for=LOCK_TIMEOUT), FINGERPRINT, NOW) is Decision.IN_USE
    stale = stored(locked_for=LOCK_TIMEOUT + timedelta(microseconds=1))
    assert decide(stale, FINGERPRINT, NOW) is Decision.RESUME


def test_an_unlocked_unfinished_request_resumes() -> None:
    assert decide(stored(), FINGERPRINT, NOW) is Decision.RESUME


def test_a_key_is_kept_up_to_the_ttl_and_new_after() -> None:
    kept = stored(age=KEY_TTL, response={"ok": True})
    assert decide(kept, FINGERPRINT, NOW) is Decision.REPLAY
    expired = stored(age=KEY_TTL + timedelta(microseconds=1), response={"ok": True})
    assert decide(expired, FINGERPRINT, NOW) is Decision.EXPIRED_EXECUTE


def test_an_expired_key_runs_as_new_whatever_it_held() -> None:
    old = KEY_TTL + timedelta(hours=1)
    for previous in (
        stored(age=old, fingerprint="0" * 64),
        stored(age=old, locked_for=timedelta(seconds=1)),
        stored(age=old),
    ):
        assert decide(previous, FINGERPRINT, NOW) is Decision.EXPIRED_EXECUTE


@pytest.mark.parametrize("key", ["k", "a" * MAX_KEY_LENGTH, "order-42/attempt 1", "clé"])
def test_valid_keys(key: str) -> None:
    validate_key(key)


@pytest.mark.parametrize("key", ["", "   ", "a" * (MAX_KEY_LENGTH + 1)])
def test_invalid_keys(key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_key(key)
    assert raised.value.field == ["idempotencyKey"]


class Color(enum.Enum):
    RED = "RED"


CARD_INPUT = {
    "id": "pi_1",
    "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"},
}


def test_fingerprints_are_sha256_hex_and_ignore_key_order() -> None:
    first = request_fingerprint("createPaymentIntent", {"amount": 2000, "currency": "usd"})
    second = request_fingerprint("createPaymentIntent", {"currency": "usd", "amount": 2000})
    assert first == second
    assert len(first) == 64
    int(first, 16)


def test_fingerprints_differ_by_operation_and_by_argument() -> None:
    base = request_fingerprint("createPaymentIntent", {"amount": 2000})
    assert request_fingerprint("capturePaymentIntent", {"amount": 2000}) != base
    assert request_fingerprint("createPaymentIntent", {"amount": 2001}) != base
    assert request_fingerprint("createPaymentIntent", {"amount": "2000"}) != base
    assert request_fingerprint("createPaymentIntent", {"amount": 2000, "description": None}) != base


def test_card_data_is_hashed_consistently() -> None:
    plain = request_fingerprint("processPaymentIntent", CARD_INPUT)
    spaced = {**CARD_INPUT, "card": {**CARD_INPUT["card"], "number": "4242 4242 4242 4242"}}  # type: ignore[dict-item]
    other = {**CARD_INPUT, "card": {**CARD_INPUT["card"], "number": "5555555555554444"}}  # type: ignore[dict-item]
    other_cvc = {**CARD_INPUT, "card": {**CARD_INPUT["card"], "cvc": "124"}}  # type: ignore[dict-item]
    assert request_fingerprint("processPaymentIntent", spaced) == plain
    assert request_fingerprint("processPaymentIntent", other) != plain
    assert request_fingerprint("processPaymentIntent", other_cvc) != plain


def test_a_server_key_changes_the_card_hashes() -> None:
    unkeyed = request_fingerprint("processPaymentIntent", CARD_INPUT)
    keyed = request_fingerprint("processPaymentIntent", CARD_INPUT, key=b"s" * 32)
    assert keyed != unkeyed
    assert keyed == request_fingerprint("processPaymentIntent", CARD_INPUT, key=b"s" * 32)


def test_the_arguments_are_not_changed() -> None:
    arguments = json.loads(json.dumps(CARD_INPUT))
    request_fingerprint("processPaymentIntent", arguments)
    assert arguments == CARD_INPUT


def test_enums_dates_decimals_and_lists_are_fingerprinted() -> None:
    arguments = {
        "color": Color.RED,
        "day": date(2026, 1, 1),
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "price": Decimal("1.50"),
        "events": ("a", "b"),
    }
    fingerprint = request_fingerprint("op", arguments)
    assert fingerprint == request_fingerprint("op", {**arguments, "events": ["a", "b"]})
    assert fingerprint != request_fingerprint("op", {**arguments, "events": ["b", "a"]})


def test_unknown_types_are_refused_rather_than_guessed() -> None:
    with pytest.raises(TypeError, match="object"):
        request_fingerprint("op", {"thing": object()})
