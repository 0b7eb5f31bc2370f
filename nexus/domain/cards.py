"""Card checks done before any bank is asked: format, Luhn, expiry, CVC.

A card number is sensitive data (PCI DSS): it never appears in a message,
a repr, a log line or an event. Only brand, last 4 digits and a keyed
fingerprint leave this module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from nexus.domain.errors import InvalidCard

_NUMBER_FIELD: Final = ["input", "card", "number"]
_EXP_MONTH_FIELD: Final = ["input", "card", "expMonth"]
_EXP_YEAR_FIELD: Final = ["input", "card", "expYear"]
_CVC_FIELD: Final = ["input", "card", "cvc"]

# ISO/IEC 7812 primary account numbers are 12 to 19 digits long. ASCII
# digits only: str.isdigit() would also accept e.g. Arabic-Indic digits.
_PAN = re.compile(r"[0-9]{12,19}")
_DIGITS = re.compile(r"[0-9]+")

# Two-digit years (as printed on cards, "12/29") mean 20xx.
_TWO_DIGIT_YEAR_BASE = 2000
# Networks carry expiry as YYMM and issuers print a few years ahead; a year further than this
# is a typo or an attack on date arithmetic (year 2147483647), not a card.
_MAX_YEARS_AHEAD = 50

# Fingerprint keys shorter than this could be brute-forced, and a fingerprint
# plus BIN and last4 would then reveal the number.
_MIN_FINGERPRINT_KEY_BYTES = 16

# 32 hex chars = 128 bits: collisions between real cards stay out of reach.
_FINGERPRINT_HEX_CHARS = 32

# (brand, lowest prefix, highest prefix): the number's leading digits, as many
# as the bounds have, compared as an integer. First match wins, so the
# narrower ranges come first (Discover's 6011/644-649/65 before UnionPay's 62).
_BRAND_RANGES: Final[tuple[tuple[str, int, int], ...]] = (
    ("amex", 34, 34),
    ("amex", 37, 37),
    ("diners", 300, 305),
    ("diners", 309, 309),
    ("diners", 36, 36),
    ("diners", 38, 39),
    ("jcb", 3528, 3589),
    ("discover", 6011, 6011),
    ("discover", 644, 649),
    ("discover", 65, 65),
    ("unionpay", 62, 62),
    ("mastercard", 51, 55),
    ("mastercard", 2221, 2720),
    ("visa", 4, 4),
)


@dataclass(frozen=True, repr=False)
class Card:
    """A validated card. Hold it only while an attempt is in flight."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str

    @property
    def brand(self) -> str:
        return card_brand(self.number)

    @property
    def last4(self) -> str:
        return last4(self.number)

    def __repr__(self) -> str:
        # Never the number or the CVC: reprs end up in logs and tracebacks.
        return f"Card(brand={self.brand!r}, last4={self.last4!r}, exp={self.exp_month:02d}/{self.exp_year})"

    __str__ = __repr__


def normalize_number(number: str) -> str:
    """The number without the spaces and dashes people type between digit groups."""
    return number.replace(" ", "").replace("-", "")


def luhn_valid(digits: str) -> bool:
    """The ISO/IEC 7812 check digit test (catches every single-digit typo)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_brand(number: str) -> str:
    """visa, mastercard, amex, discover, diners, jcb, unionpay, or unknown."""
    digits = normalize_number(number)
    for brand, low, high in _BRAND_RANGES:
        prefix = digits[: len(str(low))]
        if prefix.isdigit() and low <= int(prefix) <= high:
            return brand
    return "unknown"


def last4(number: str) -> str:
    return normalize_number(number)[-4:]


def fingerprint(number: str, key: bytes) -> str:
    """A stable id for a card number, keyed so it cannot be reversed by brute force.

    A PAN has few unknown digits once BIN and last4 are known; an unkeyed hash
    of it would be inverted in seconds. The key is a server secret.
    """
    if len(key) < _MIN_FINGERPRINT_KEY_BYTES:
        raise ValueError("the fingerprint key must be at least 16 bytes")
    mac = hmac.new(key, normalize_number(number).encode(), hashlib.sha256)
    return mac.hexdigest()[:_FINGERPRINT_HEX_CHARS]


def validate_card(number: str, exp_month: int, exp_year: int, cvc: str, today: date) -> Card:
    """A Card, or InvalidCard naming the field at fault (messages never hold the number)."""
    card = parse_card(number, exp_month, exp_year, cvc)
    check_card_dates(card, today)
    return card


def parse_card(number: str, exp_month: int, exp_year: int, cvc: str) -> Card:
    """Everything about a card that does not depend on the day: a request that passes this
    passes it forever, so a replay of it can be recognised before `check_card_dates`."""
    digits = _checked_number(number)
    if not 1 <= exp_month <= 12:
        raise InvalidCard("Your card's expiration month is invalid.", _EXP_MONTH_FIELD)
    year = exp_year + _TWO_DIGIT_YEAR_BASE if 0 <= exp_year < 100 else exp_year
    _check_cvc(cvc, card_brand(digits))
    return Card(number=digits, exp_month=exp_month, exp_year=year, cvc=cvc)


def check_card_dates(card: Card, today: date) -> None:
    """InvalidCard if the card has expired (it is good through its expiry month's last day)
    or expires implausibly far ahead."""
    if (card.exp_year, card.exp_month) < (today.year, today.month):
        field = _EXP_MONTH_FIELD if card.exp_year == today.year else _EXP_YEAR_FIELD
        raise InvalidCard("Your card has expired.", field)
    if card.exp_year > today.year + _MAX_YEARS_AHEAD:
        raise InvalidCard("Your card's expiration year is invalid.", _EXP_YEAR_FIELD)


def _checked_number(number: str) -> str:
    digits = normalize_number(number)
    if _PAN.fullmatch(digits) is None or not luhn_valid(digits):
        raise InvalidCard("Your card number is incorrect.", _NUMBER_FIELD)
    return digits


def _check_cvc(cvc: str, brand: str) -> None:
    # American Express prints a 4-digit code on the front; the others 3 on the back.
    expected_length = 4 if brand == "amex" else 3
    if len(cvc) != expected_length or _DIGITS.fullmatch(cvc) is None:
        raise InvalidCard("Your card's security code is invalid.", _CVC_FIELD)
