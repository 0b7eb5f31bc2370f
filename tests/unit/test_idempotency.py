"""Idempotency: every decision branch, its boundaries, keys and fingerprints."""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def reference_fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    """request_fingerprint as it was written before orjson: every stored key was made this way."""
    from nexus.domain.idempotency import _json_default, _redacted

    canonical = json.dumps(
        {"operation": operation, "arguments": _redacted(arguments, b"")},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_json_default,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Every character but lone surrogates (no UTF-8 for them: both ways refuse them alike, below).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond orjson's 64 bits too
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from([Color.RED, date(2026, 1, 2), NOW, Decimal("1.50")]),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20
)


@settings(max_examples=600, deadline=None)
@given(arguments=st.dictionaries(TEXT, VALUES, max_size=6))
def test_fingerprints_are_the_ones_json_dumps_made(arguments: dict[str, Any]) -> None:
    assert request_fingerprint("op", arguments) == reference_fingerprint("op", arguments)


@pytest.mark.parametrize(
    "value",
    [1e16, 1e-7, 5e-324, 1.7976931348623157e308, -0.0, float("nan"), float("inf"), 2**64, -(2**63) - 1, 2**63 - 1],
)
def test_numbers_orjson_and_json_dumps_could_spell_apart_are_spelled_as_before(value: Any) -> None:
    arguments = {"amount": value, "nested": [{"x": value}]}
    assert request_fingerprint("op", arguments) == reference_fingerprint("op", arguments)


def test_characters_are_escaped_and_keys_sorted_as_before() -> None:
    every = "".join(map(chr, range(0x250))) + "\u2028\u2029\U0001f600\ufeff"
    arguments = {every: every, "\U0001f600": 1, "\uffff": 2, "a": {"é": 3, "e": 4}}
    assert request_fingerprint("op", arguments) == reference_fingerprint("op", arguments)


def test_deep_nesting_is_fingerprinted_as_before() -> None:
    deep: Any = "x"
    for _ in range(300):  # deeper than orjson writes
        deep = [deep]
    assert request_fingerprint("op", {"deep": deep}) == reference_fingerprint("op", {"deep": deep})


def test_a_lone_surrogate_is_refused_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        reference_fingerprint("op", {"description": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        request_fingerprint("op", {"description": "\ud800"})
