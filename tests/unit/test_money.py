"""Currencies, minor units, minimums and the maximum."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nexus.domain.errors import AmountTooLarge, AmountTooSmall, InvalidInput, UnsupportedCurrency
from nexus.domain.money import (
    CURRENCY_EXPONENTS,
    MAX_AMOUNT,
    USD_RATES,
    minimum_amount,
    normalize_currency,
    usd_equivalent,
    validate_amount,
)

FIELD = ["input", "amount"]


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("usd", 2),
        ("eur", 2),
        ("gbp", 2),
        ("jpy", 0),
        ("krw", 0),
        ("vnd", 0),
        ("clp", 0),
        ("isk", 0),
        ("ugx", 0),
        ("xof", 0),
        ("kwd", 3),
        ("bhd", 3),
        ("jod", 3),
        ("omr", 3),
        ("tnd", 3),
        ("lyd", 3),
        ("iqd", 3),
        ("clf", 4),
        ("uyw", 4),
    ],
)
def test_iso_4217_exponents(code: str, exponent: int) -> None:
    assert CURRENCY_EXPONENTS[code] == exponent


def test_the_table_covers_the_active_list() -> None:
    assert len(CURRENCY_EXPONENTS) >= 160
    assert all(code.islower() and len(code) == 3 for code in CURRENCY_EXPONENTS)
    assert set(USD_RATES) == set(CURRENCY_EXPONENTS)
    assert all(rate > 0 for rate in USD_RATES.values())


@pytest.mark.parametrize("given", ["usd", "USD", "Usd", "uSD"])
def test_currency_codes_are_case_insensitive(given: str) -> None:
    assert normalize_currency(given) == "usd"


@pytest.mark.parametrize(
    "given",
    ["", "us", "usdd", " usd", "usd ", "xyz", "xau", "xts", "xxx", "hrk", "sll", "zwl", "dollars"],
)
def test_unknown_withdrawn_and_non_monetary_codes_are_unsupported(given: str) -> None:
    with pytest.raises(UnsupportedCurrency) as raised:
        normalize_currency(given)
    assert raised.value.field == ["input", "currency"]


@pytest.mark.parametrize(("code", "minimum"), [("usd", 50), ("USD", 50), ("jpy", 75), ("kwd", 154)])
def test_known_minimums(code: str, minimum: int) -> None:
    assert minimum_amount(code) == minimum


@pytest.mark.parametrize("code", sorted(CURRENCY_EXPONENTS))
def test_every_minimum_is_the_smallest_amount_worth_half_a_dollar(code: str) -> None:
    minimum = minimum_amount(code)
    assert 1 <= minimum <= MAX_AMOUNT
    assert usd_equivalent(minimum, code) >= Decimal("0.50")
    if minimum > 1:
        assert usd_equivalent(minimum - 1, code) < Decimal("0.50")


def test_unknown_currency_has_no_minimum() -> None:
    with pytest.raises(UnsupportedCurrency):
        minimum_amount("abc")


@pytest.mark.parametrize(("amount", "currency"), [(50, "usd"), (75, "jpy"), (154, "kwd"), (MAX_AMOUNT, "usd")])
def test_amounts_within_bounds_pass(amount: int, currency: str) -> None:
    validate_amount(amount, currency, FIELD)


@pytest.mark.parametrize("amount", [49, 1, 0, -1, -50, -MAX_AMOUNT])
def test_amounts_below_the_minimum_are_too_small(amount: int) -> None:
    with pytest.raises(AmountTooSmall) as raised:
        validate_amount(amount, "usd", FIELD)
    assert raised.value.field == FIELD
    assert "50" in raised.value.message


def test_the_minimum_depends_on_the_currency() -> None:
    with pytest.raises(AmountTooSmall):
        validate_amount(74, "jpy", FIELD)
    with pytest.raises(AmountTooSmall):
        validate_amount(153, "KWD", FIELD)


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, 10**12])
def test_amounts_above_the_maximum_are_too_large(amount: int) -> None:
    with pytest.raises(AmountTooLarge) as raised:
        validate_amount(amount, "usd", FIELD)
    assert raised.value.field == FIELD


def test_booleans_are_not_amounts() -> None:
    with pytest.raises(InvalidInput):
        validate_amount(True, "usd", FIELD)


def test_usd_equivalent() -> None:
    assert usd_equivalent(2000, "usd") == Decimal(20)
    assert usd_equivalent(150, "jpy") == Decimal(1)
