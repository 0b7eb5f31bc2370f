"""Card validation, brands and fingerprints; the number never leaks."""

from __future__ import annotations

from datetime import date

import pytest

from nexus.domain.cards import Card, card_brand, fingerprint, last4, luhn_valid, validate_card
from nexus.domain.errors import ErrorCode, InvalidCard

TODAY = date(2026, 11, 28)
KEY = b"k" * 32
VISA = "4242424242424242"

API_TEST_CARDS = [
    "4242424242424242",
    "5555555555554444",
    "4000000000000002",
    "4000000000009995",
    "4000000000009987",
    "4000000000009979",
    "4000000000000069",
    "4000000000000127",
    "4000000000000119",
    "4100000000000019",
    "4000000000009235",
    "4000002760003184",
]


def invalid(number: str = VISA, month: int = 12, year: int = 2030, cvc: str = "123") -> InvalidCard:
    with pytest.raises(InvalidCard) as raised:
        validate_card(number, month, year, cvc, TODAY)
    assert raised.value.code is ErrorCode.INVALID_CARD
    if number:
        assert number not in raised.value.message
        assert number not in repr(raised.value)
    return raised.value


@pytest.mark.parametrize("number", API_TEST_CARDS)
def test_every_test_card_of_the_contract_is_valid(number: str) -> None:
    card = validate_card(number, 12, 2030, "123", TODAY)
    assert card == Card(number=number, exp_month=12, exp_year=2030, cvc="123")


@pytest.mark.parametrize("typed", ["4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242 "])
def test_spaces_and_dashes_are_ignored(typed: str) -> None:
    assert validate_card(typed, 1, 2031, "999", TODAY).number == VISA


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",  # Luhn
        "4242424242424243",  # Luhn
        "42424242424",  # 11 digits
        "42424242424242424242",  # 20 digits
        "",
        "4242x24242424242",
        "4242\t4242424242424242",
        "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",  # Arabic-Indic digits are digits to str.isdigit()
    ],
)
def test_bad_numbers_are_refused_without_echoing_them(number: str) -> None:
    error = invalid(number=number)
    assert error.field == ["input", "card", "number"]


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


@pytest.mark.parametrize("month", [0, 13, -1])
def test_bad_months_are_refused(month: int) -> None:
    assert invalid(month=month).field == ["input", "card", "expMonth"]


def test_a_card_is_good_through_the_end_of_its_expiry_month() -> None:
    assert validate_card(VISA, 11, 2026, "123", TODAY).exp_year == 2026
    assert validate_card(VISA, 11, 2026, "123", date(2026, 11, 30)).exp_month == 11


def test_last_month_is_expired() -> None:
    error = invalid(month=10, year=2026)
    assert error.message == "Your card has expired."
    assert error.field == ["input", "card", "expMonth"]


def test_last_year_is_expired() -> None:
    assert invalid(month=12, year=2025).field == ["input", "card", "expYear"]


def test_two_digit_years_mean_this_century() -> None:
    assert validate_card(VISA, 12, 30, "123", TODAY).exp_year == 2030
    invalid(month=12, year=25)


@pytest.mark.parametrize("cvc", ["", "12", "1234", "12a", "\uff11\uff12\uff13", " 123"])
def test_bad_cvcs_are_refused(cvc: str) -> None:
    assert invalid(cvc=cvc).field == ["input", "card", "cvc"]


def test_amex_needs_four_digits() -> None:
    amex = "378282246310005"
    assert validate_card(amex, 12, 2030, "1234", TODAY).cvc == "1234"
    invalid(number=amex, cvc="123")


def test_the_repr_never_shows_number_or_cvc() -> None:
    card = validate_card(VISA, 12, 2030, "987", TODAY)
    for text in (repr(card), str(card), f"{card}", repr([card])):
        assert VISA not in text
        assert "987" not in text
        assert "4242" in text  # last4 is fine to show
    assert card.brand == "visa"
    assert card.last4 == "4242"


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("6445644564456445", "discover"),
        ("6500000000000002", "discover"),
        ("3056930009020004", "diners"),
        ("36227206271667", "diners"),
        ("3566002020360505", "jcb"),
        ("6200000000000005", "unionpay"),
        ("9999999999999995", "unknown"),
        ("1", "unknown"),
        ("", "unknown"),
    ],
)
def test_brands(number: str, brand: str) -> None:
    assert card_brand(number) == brand


def test_last4() -> None:
    assert last4("4242 4242 4242 1234") == "1234"


def test_fingerprints_are_stable_keyed_and_short() -> None:
    first = fingerprint(VISA, KEY)
    assert first == fingerprint("4242 4242 4242 4242", KEY)
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert fingerprint(VISA, b"x" * 32) != first
    assert fingerprint("5555555555554444", KEY) != first
    assert VISA not in first


def test_fingerprints_refuse_weak_keys() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        fingerprint(VISA, b"short")
