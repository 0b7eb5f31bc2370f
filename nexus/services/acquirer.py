"""The port to the card network: what processing asks, and the simulated bank behind it.

Processing depends only on `Acquirer`; a real acquirer's client would implement
the same method. One decision per attempt is guaranteed by processing (it
records the first answer per attempt id), not by the acquirer.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from nexus.domain import bank
from nexus.domain.cards import Card


class Acquirer(Protocol):
    async def authorize(
        self, card: Card, amount: int, currency: str, recent_declines: int, authenticated: bool
    ) -> bank.BankDecision: ...


class SimulatedAcquirer:
    """The rules engine of nexus.domain.bank, with the network latency NEXUS_BANK_LATENCY_MS sets."""

    def __init__(self, latency_ms: int) -> None:
        self.latency_s = latency_ms / 1000

    async def authorize(
        self, card: Card, amount: int, currency: str, recent_declines: int, authenticated: bool
    ) -> bank.BankDecision:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return bank.decide(card, amount, currency, recent_declines, authenticated)
