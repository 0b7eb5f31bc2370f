"""Money: ISO 4217 currencies, their minor units, and the amount limits.

Amounts are integers in the currency's minor unit (cents for ``usd``, yen for
``jpy``, fils for ``kwd``), as in Stripe: no floats ever touch money.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Final

from nexus.domain.errors import AmountTooLarge, AmountTooSmall, InvalidInput, UnsupportedCurrency

# Every code of ISO 4217 list one (SIX, published 2026-01-01) that has a minor
# unit, so it can be charged: national currencies plus the fund codes (bov, che,
# chw, clf, cou, mxv, usn, uyi, uyw) and the Arab Accounting Dinar (xad).
# Left out on purpose: codes whose minor unit is "N.A." (metals xau/xag/xpd/xpt,
# xdr, xsu, xua, the bond units xba-xbd, the test code xts, no-currency xxx).
# Withdrawn codes (ang, bgn, cuc, hrk, sll, zwl) are unsupported like any
# unknown code.
#
# Each row: code -> (exponent, approximate units of the currency per 1 USD).
# The rates are a static snapshot (2025) on purpose: the simulator has no FX
# feed, and Stripe's own minimum charge amounts are fixed per currency too.
# They only set minimums and the "large amount" risk signal, so being off by
# some percent changes nothing that matters. Where an official and a market
# rate differ widely, the market (weaker) one is used, so that the minimum is
# worth at least 0.50 USD at either.
_CURRENCIES: Final[dict[str, tuple[int, str]]] = {
    "aed": (2, "3.6725"),
    "afn": (2, "68"),
    "all": (2, "84"),
    "amd": (2, "385"),
    "aoa": (2, "915"),
    "ars": (2, "1400"),
    "aud": (2, "1.53"),
    "awg": (2, "1.79"),
    "azn": (2, "1.70"),
    "bam": (2, "1.68"),
    "bbd": (2, "2.00"),
    "bdt": (2, "122"),
    "bhd": (3, "0.376"),
    "bif": (0, "2950"),
    "bmd": (2, "1.00"),
    "bnd": (2, "1.30"),
    "bob": (2, "6.91"),
    "bov": (2, "1.00"),
    "brl": (2, "5.40"),
    "bsd": (2, "1.00"),
    "btn": (2, "88"),
    "bwp": (2, "13.5"),
    "byn": (2, "3.3"),
    "bzd": (2, "2.00"),
    "cad": (2, "1.39"),
    "cdf": (2, "2850"),
    "che": (2, "0.80"),
    "chf": (2, "0.80"),
    "chw": (2, "0.80"),
    "clf": (4, "0.025"),
    "clp": (0, "950"),
    "cny": (2, "7.15"),
    "cop": (2, "3900"),
    "cou": (2, "10"),
    "crc": (2, "505"),
    "cup": (2, "410"),
    "cve": (2, "95"),
    "czk": (2, "21"),
    "djf": (0, "178"),
    "dkk": (2, "6.4"),
    "dop": (2, "63"),
    "dzd": (2, "130"),
    "egp": (2, "48"),
    "ern": (2, "15"),
    "etb": (2, "155"),
    "eur": (2, "0.86"),
    "fjd": (2, "2.27"),
    "fkp": (2, "0.75"),
    "gbp": (2, "0.75"),
    "gel": (2, "2.71"),
    "ghs": (2, "12"),
    "gip": (2, "0.75"),
    "gmd": (2, "72"),
    "gnf": (0, "8700"),
    "gtq": (2, "7.67"),
    "gyd": (2, "209"),
    "hkd": (2, "7.8"),
    "hnl": (2, "26.2"),
    "htg": (2, "131"),
    "huf": (2, "335"),
    "idr": (2, "16400"),
    "ils": (2, "3.3"),
    "inr": (2, "88"),
    "iqd": (3, "1310"),
    "irr": (2, "1050000"),
    "isk": (0, "123"),
    "jmd": (2, "160"),
    "jod": (3, "0.709"),
    "jpy": (0, "150"),
    "kes": (2, "129"),
    "kgs": (2, "87.4"),
    "khr": (2, "4010"),
    "kmf": (0, "423"),
    "kpw": (2, "8000"),
    "krw": (0, "1400"),
    "kwd": (3, "0.307"),
    "kyd": (2, "0.833"),
    "kzt": (2, "530"),
    "lak": (2, "21700"),
    "lbp": (2, "89500"),
    "lkr": (2, "300"),
    "lrd": (2, "180"),
    "lsl": (2, "17.5"),
    "lyd": (3, "5.45"),
    "mad": (2, "9.1"),
    "mdl": (2, "17"),
    "mga": (2, "4450"),
    "mkd": (2, "53"),
    "mmk": (2, "4400"),
    "mnt": (2, "3600"),
    "mop": (2, "8.03"),
    "mru": (2, "40"),
    "mur": (2, "45.5"),
    "mvr": (2, "15.4"),
    "mwk": (2, "1735"),
    "mxn": (2, "18.5"),
    "mxv": (2, "2.2"),
    "myr": (2, "4.2"),
    "mzn": (2, "63.9"),
    "nad": (2, "17.5"),
    "ngn": (2, "1500"),
    "nio": (2, "36.8"),
    "nok": (2, "10.1"),
    "npr": (2, "141"),
    "nzd": (2, "1.72"),
    "omr": (3, "0.3845"),
    "pab": (2, "1.00"),
    "pen": (2, "3.45"),
    "pgk": (2, "4.1"),
    "php": (2, "58"),
    "pkr": (2, "282"),
    "pln": (2, "3.65"),
    "pyg": (0, "7100"),
    "qar": (2, "3.64"),
    "ron": (2, "4.37"),
    "rsd": (2, "101"),
    "rub": (2, "80"),
    "rwf": (0, "1450"),
    "sar": (2, "3.75"),
    "sbd": (2, "8.2"),
    "scr": (2, "14.3"),
    "sdg": (2, "3000"),
    "sek": (2, "9.5"),
    "sgd": (2, "1.30"),
    "shp": (2, "0.75"),
    "sle": (2, "23"),
    "sos": (2, "571"),
    "srd": (2, "38"),
    "ssp": (2, "5000"),
    "stn": (2, "21"),
    "svc": (2, "8.75"),
    "syp": (2, "13000"),
    "szl": (2, "17.5"),
    "thb": (2, "32.5"),
    "tjs": (2, "9.3"),
    "tmt": (2, "3.5"),
    "tnd": (3, "2.95"),
    "top": (2, "2.4"),
    "try": (2, "41.5"),
    "ttd": (2, "6.78"),
    "twd": (2, "30.5"),
    "tzs": (2, "2450"),
    "uah": (2, "41.5"),
    "ugx": (0, "3500"),
    "usd": (2, "1"),
    "usn": (2, "1"),
    "uyi": (0, "6.35"),
    "uyu": (2, "40"),
    "uyw": (4, "21"),
    "uzs": (2, "12000"),
    "ved": (2, "200"),
    "ves": (2, "200"),
    "vnd": (0, "26000"),
    "vuv": (0, "120"),
    "wst": (2, "2.75"),
    "xad": (2, "0.245"),
    "xaf": (0, "564"),
    "xcd": (2, "2.70"),
    "xcg": (2, "1.79"),
    "xof": (0, "564"),
    "xpf": (0, "102.6"),
    "yer": (2, "1600"),
    "zar": (2, "17.5"),
    "zmw": (2, "23"),
    "zwg": (2, "27"),
}

CURRENCY_EXPONENTS: Final[dict[str, int]] = {code: row[0] for code, row in _CURRENCIES.items()}
USD_RATES: Final[dict[str, Decimal]] = {code: Decimal(row[1]) for code, row in _CURRENCIES.items()}

# Stripe's minimum charge is 0.50 USD (or its equivalent): below it card fees
# exceed the payment and tiny charges are mostly card testing by fraudsters.
MINIMUM_CHARGE_USD: Final = Decimal("0.50")

# Stripe's maximum: card networks carry the amount in an 8-digit field, so
# 99,999,999 minor units (999,999.99 USD) is the most one charge can be.
MAX_AMOUNT: Final = 99_999_999

CURRENCY_FIELD: Final = ["input", "currency"]


def normalize_currency(code: str) -> str:
    """The lower-case ISO 4217 code for ``code`` (any case); else UnsupportedCurrency."""
    lowered = code.lower()
    if lowered not in CURRENCY_EXPONENTS:
        # The input is not echoed: it is arbitrary client text of any length.
        raise UnsupportedCurrency(
            "Unsupported currency: use an active ISO 4217 code such as usd, eur or jpy.",
            CURRENCY_FIELD,
        )
    return lowered


def _minimum_for(code: str) -> int:
    units = (MINIMUM_CHARGE_USD * USD_RATES[code]).scaleb(CURRENCY_EXPONENTS[code])
    return max(1, int(units.to_integral_value(rounding=ROUND_CEILING)))


# Computed once: the table is static, and a missing rate fails at import, not mid-request.
_MINIMUM_AMOUNTS: Final[dict[str, int]] = {code: _minimum_for(code) for code in _CURRENCIES}


def minimum_amount(currency: str) -> int:
    """The smallest chargeable amount in minor units: worth at least 0.50 USD, at least 1."""
    return _MINIMUM_AMOUNTS[normalize_currency(currency)]


def usd_equivalent(amount: int, currency: str) -> Decimal:
    """Approximate value of ``amount`` minor units in US dollars (for risk rules only)."""
    code = normalize_currency(currency)
    return Decimal(amount).scaleb(-CURRENCY_EXPONENTS[code]) / USD_RATES[code]


def validate_amount(amount: int, currency: str, field: list[str]) -> None:
    """Raise AmountTooSmall / AmountTooLarge unless ``amount`` can be charged in ``currency``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        # bool is an int subclass; True must not become a 1-unit charge.
        raise InvalidInput("Amount must be an integer number of minor units.", field)
    minimum = minimum_amount(currency)
    if amount < minimum:
        raise AmountTooSmall(
            f"Amount must be at least {minimum} (minor units of {currency.lower()}), the equivalent of 0.50 USD.",
            field,
        )
    if amount > MAX_AMOUNT:
        raise AmountTooLarge(f"Amount must be at most {MAX_AMOUNT} minor units.", field)
