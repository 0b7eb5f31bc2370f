"""The bank simulator: API.md's test-card table, velocity and risk scoring."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nexus.domain.bank import (
    VELOCITY_LIMIT,
    VELOCITY_WINDOW,
    BankDecision,
    decide,
    risk_level,
)
from nexus.domain.cards import Card
from nexus.domain.status import RiskLevel


def card(number: str) -> Card:
    return Card(number=number, exp_month=12, exp_year=2030, cvc="123")


def ask(number: str, amount: int = 2000, currency: str = "usd", recent_declines: int = 0) -> BankDecision:
    return decide(card(number), amount, currency, recent_declines)


@pytest.mark.parametrize("number", ["4242424242424242", "5555555555554444", "378282246310005"])
def test_good_cards_are_approved(number: str) -> None:
    decision = ask(number)
    assert decision.outcome == "approved"
    assert decision.decline_code is None
    assert decision.network_status == "approved_by_network"
    assert decision.risk_level is RiskLevel.NORMAL
    assert decision.risk_reasons == ()
    assert not decision.counts_as_decline


@pytest.mark.parametrize(
    ("number", "decline_code", "message"),
    [
        ("4000000000000002", "generic_decline", "Your card was declined."),
        ("4000000000009995", "insufficient_funds", "Your card has insufficient funds."),
        ("4000000000009987", "lost_card", "Your card was declined."),
        ("4000000000009979", "stolen_card", "Your card was declined."),
        ("4000000000000069", "expired_card", "Your card has expired."),
        ("4000000000000127", "incorrect_cvc", "Your card's security code is incorrect."),
        ("4000000000000119", "processing_error", "An error occurred while processing your card."),
    ],
)
def test_declining_test_cards(number: str, decline_code: str, message: str) -> None:
    decision = ask(number)
    assert decision.outcome == "declined"
    assert decision.decline_code == decline_code
    assert decision.network_status == "declined_by_network"
    assert decision.message.startswith(message)
    assert decision.counts_as_decline


def test_the_fraud_test_card_is_blocked_at_highest_risk() -> None:
    decision = ask("4100000000000019")
    assert decision.outcome == "blocked"
    assert decision.decline_code == "fraudulent"
    assert decision.risk_level is RiskLevel.HIGHEST
    assert decision.risk_score >= 75
    assert decision.network_status == "not_sent_to_network"
    assert "highest_risk_test_card" in decision.risk_reasons
    assert decision.message == "Your card was declined."
    assert decision.counts_as_decline


@pytest.mark.parametrize("amount", [2000, 99_999_999])
def test_the_elevated_risk_test_card_is_approved_at_elevated_risk(amount: int) -> None:
    decision = ask("4000000000009235", amount=amount)
    assert decision.outcome == "approved"
    assert decision.risk_level is RiskLevel.ELEVATED
    assert 65 <= decision.risk_score < 75
    assert "elevated_risk_test_card" in decision.risk_reasons


def test_the_three_d_secure_card_requires_action_then_approves_once_authenticated() -> None:
    three_ds = card("4000002760003184")
    first = decide(three_ds, 2000, "usd", 0)
    assert first.outcome == "requires_action"
    assert first.decline_code is None
    assert first.network_status == "requires_authentication"
    assert "authenticate" in first.message
    second = decide(three_ds, 2000, "usd", 0, authenticated=True)
    assert second.outcome == "approved"
    assert second.network_status == "approved_by_network"


def test_velocity_constants() -> None:
    assert timedelta(minutes=10) == VELOCITY_WINDOW
    assert VELOCITY_LIMIT == 5


def test_five_recent_declines_are_tolerated() -> None:
    decision = ask("4242424242424242", recent_declines=VELOCITY_LIMIT)
    assert decision.outcome == "approved"
    assert "recent_declines" in decision.risk_reasons
    assert decision.risk_level is RiskLevel.NORMAL


def test_a_sixth_recent_decline_blocks_as_fraudulent() -> None:
    decision = ask("4242424242424242", recent_declines=VELOCITY_LIMIT + 1)
    assert decision.outcome == "blocked"
    assert decision.decline_code == "fraudulent"
    assert decision.risk_level is RiskLevel.HIGHEST
    assert decision.network_status == "not_sent_to_network"
    assert "velocity" in decision.risk_reasons


def test_velocity_overrides_every_test_card() -> None:
    for number in ("4000000000009235", "4000002760003184", "4000000000000002"):
        decision = ask(number, recent_declines=6)
        assert (decision.outcome, decision.risk_level) == ("blocked", RiskLevel.HIGHEST)


def test_recent_declines_raise_the_score() -> None:
    scores = [ask("4242424242424242", recent_declines=n).risk_score for n in range(VELOCITY_LIMIT + 1)]
    assert scores == sorted(scores)
    assert scores[0] < scores[-1]


def test_large_amounts_are_a_risk_reason_in_any_currency() -> None:
    assert "large_amount" not in ask("4242424242424242", amount=500_000).risk_reasons  # 5,000 USD
    assert "large_amount" in ask("4242424242424242", amount=500_001).risk_reasons
    assert "large_amount" in ask("4242424242424242", amount=1_000_000, currency="jpy").risk_reasons
    assert "large_amount" not in ask("4242424242424242", amount=100_000, currency="jpy").risk_reasons


def test_a_large_amount_with_many_declines_is_elevated_but_approved() -> None:
    decision = ask("4242424242424242", amount=1_000_000, recent_declines=VELOCITY_LIMIT)
    assert decision.outcome == "approved"
    assert decision.risk_level is RiskLevel.ELEVATED


def test_decisions_are_deterministic() -> None:
    assert ask("4000000000009995") == ask("4000000000009995")


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, RiskLevel.NORMAL),
        (64, RiskLevel.NORMAL),
        (65, RiskLevel.ELEVATED),
        (74, RiskLevel.ELEVATED),
        (75, RiskLevel.HIGHEST),
        (100, RiskLevel.HIGHEST),
    ],
)
def test_radar_bands(score: int, level: RiskLevel) -> None:
    assert risk_level(score) is level


def test_every_score_stays_within_0_and_100() -> None:
    for number in ("4242424242424242", "4100000000000019", "4000000000009235"):
        for declines in (0, 5, 6, 50):
            score = ask(number, amount=99_999_999, recent_declines=declines).risk_score
            assert 0 <= score <= 100
