"""The bank simulator: a pure, rules-based issuer plus a Radar-like risk check.

Given the same card, amount and history it always decides the same way, so
asking it twice about one attempt gives one decision. The test cards of
API.md force their outcomes; any other valid card is approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Final, Literal

from nexus.domain.cards import Card
from nexus.domain.money import usd_equivalent
from nexus.domain.status import RiskLevel

Outcome = Literal["approved", "declined", "requires_action", "blocked"]
NetworkStatus = Literal["approved_by_network", "declined_by_network", "not_sent_to_network", "requires_authentication"]

# Velocity rule of API.md: more than VELOCITY_LIMIT declined attempts of one
# card fingerprint at one merchant within VELOCITY_WINDOW is card testing.
VELOCITY_WINDOW: Final = timedelta(minutes=10)
VELOCITY_LIMIT: Final = 5

# Stripe Radar's bands: 0-64 normal, 65-74 elevated, 75-100 highest.
ELEVATED_RISK_THRESHOLD: Final = 65
HIGHEST_RISK_THRESHOLD: Final = 75
MAX_RISK_SCORE: Final = 100

# No payment is riskless; 10 keeps an ordinary one deep inside NORMAL.
BASE_RISK_SCORE: Final = 10
# Well above the ticket size of the small online merchants this gateway serves,
# the kind of outlier Radar weighs; worth 30 points so that it alone stays
# NORMAL (40) but joined by several recent declines reaches ELEVATED (65).
LARGE_AMOUNT_USD: Final = Decimal(5000)
LARGE_AMOUNT_POINTS: Final = 30
# Per decline in the velocity window below the block: 5 declines add 25.
RECENT_DECLINE_POINTS: Final = 5
# Enough to reach HIGHEST from the base score on their own.
BLOCKING_RULE_POINTS: Final = 85
# Lands the elevated test card at 65, the bottom of ELEVATED.
ELEVATED_TEST_CARD_POINTS: Final = 55

FRAUD_TEST_CARD: Final = "4100000000000019"
ELEVATED_RISK_TEST_CARD: Final = "4000000000009235"
THREE_D_SECURE_TEST_CARD: Final = "4000002760003184"

# Test cards the issuer declines, with Stripe's decline codes (API.md).
DECLINING_TEST_CARDS: Final[dict[str, str]] = {
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000009987": "lost_card",
    "4000000000009979": "stolen_card",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
}

_BLOCKING_REASONS: Final = frozenset({"velocity", "highest_risk_test_card"})

# Stripe's customer-facing texts. Lost, stolen and fraudulent cards get the
# generic text on purpose: telling a fraudster why would help the fraud.
_DECLINE_MESSAGES: Final[dict[str, str]] = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "fraudulent": "Your card was declined.",
}
_OUTCOME_MESSAGES: Final[dict[str, str]] = {
    "approved": "The payment was approved.",
    "requires_action": "This payment requires the cardholder to authenticate (3-D Secure).",
}


@dataclass(frozen=True)
class BankDecision:
    outcome: Outcome
    decline_code: str | None
    risk_score: int
    risk_level: RiskLevel
    risk_reasons: tuple[str, ...]
    network_status: NetworkStatus

    @property
    def message(self) -> str:
        """A message fit to show the cardholder."""
        if self.decline_code is not None:
            return _DECLINE_MESSAGES.get(self.decline_code, "Your card was declined.")
        return _OUTCOME_MESSAGES.get(self.outcome, "Your card was declined.")

    @property
    def counts_as_decline(self) -> bool:
        """Whether this attempt counts toward the velocity rule."""
        return self.outcome in ("declined", "blocked")


def risk_level(score: int) -> RiskLevel:
    if score >= HIGHEST_RISK_THRESHOLD:
        return RiskLevel.HIGHEST
    if score >= ELEVATED_RISK_THRESHOLD:
        return RiskLevel.ELEVATED
    return RiskLevel.NORMAL


def decide(card: Card, amount: int, currency: str, recent_declines: int, authenticated: bool = False) -> BankDecision:
    """The bank's answer to one authorization attempt.

    ``recent_declines``: declined (or blocked) attempts of this card's
    fingerprint at this merchant within VELOCITY_WINDOW, counted by the caller.
    ``authenticated``: the cardholder passed 3-D Secure for this intent.
    """
    signals = _risk_signals(card, amount, currency, recent_declines)
    reasons = tuple(reason for reason, _ in signals)
    score = _risk_score(card, signals)
    if _BLOCKING_REASONS.intersection(reasons):
        return _decision("blocked", "fraudulent", score, reasons, "not_sent_to_network")
    decline_code = DECLINING_TEST_CARDS.get(card.number)
    if decline_code is not None:
        return _decision("declined", decline_code, score, reasons, "declined_by_network")
    if card.number == THREE_D_SECURE_TEST_CARD and not authenticated:
        return _decision("requires_action", None, score, reasons, "requires_authentication")
    return _decision("approved", None, score, reasons, "approved_by_network")


def _decision(
    outcome: Outcome,
    decline_code: str | None,
    score: int,
    reasons: tuple[str, ...],
    network_status: NetworkStatus,
) -> BankDecision:
    return BankDecision(outcome, decline_code, score, risk_level(score), reasons, network_status)


def _risk_signals(card: Card, amount: int, currency: str, recent_declines: int) -> list[tuple[str, int]]:
    """(reason, points) pairs; the reasons are what the attempt reports."""
    signals: list[tuple[str, int]] = []
    if recent_declines > VELOCITY_LIMIT:
        signals.append(("velocity", BLOCKING_RULE_POINTS))
    elif recent_declines > 0:
        signals.append(("recent_declines", RECENT_DECLINE_POINTS * recent_declines))
    if usd_equivalent(amount, currency) > LARGE_AMOUNT_USD:
        signals.append(("large_amount", LARGE_AMOUNT_POINTS))
    if card.number == FRAUD_TEST_CARD:
        signals.append(("highest_risk_test_card", BLOCKING_RULE_POINTS))
    if card.number == ELEVATED_RISK_TEST_CARD:
        signals.append(("elevated_risk_test_card", ELEVATED_TEST_CARD_POINTS))
    return signals


def _risk_score(card: Card, signals: list[tuple[str, int]]) -> int:
    score = min(MAX_RISK_SCORE, BASE_RISK_SCORE + sum(points for _, points in signals))
    blocked = any(reason in _BLOCKING_REASONS for reason, _ in signals)
    if card.number == ELEVATED_RISK_TEST_CARD and not blocked:
        # The contract says this card is approved at ELEVATED whatever else adds
        # to its score (e.g. a large amount): keep it inside that band.
        score = min(score, HIGHEST_RISK_THRESHOLD - 1)
    return score
