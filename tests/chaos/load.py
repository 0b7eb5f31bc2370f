"""A steady load of create + process calls, each retried with its idempotency key until answered.

Retrying is what a well-behaved client does after a crash: connection errors,
5xx, SERVICE_UNAVAILABLE and IDEMPOTENCY_KEY_IN_USE mean "send the same
request again"; anything else is the answer.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api.gql import CREATE, PROCESS, card

# Cards the load mixes: approvals, declines and fraud blocks all take the two-phase path.
LOAD_CARDS = ("4242424242424242", "5555555555554444", "4000000000000002", "4000000000009995", "4100000000000019")
# Errors that mean "the same request may be sent again".
RETRYABLE_CODES = frozenset({"SERVICE_UNAVAILABLE", "IDEMPOTENCY_KEY_IN_USE"})
# Pause between retries: short, so retries land while a restarted server is still warming up.
RETRY_PAUSE_S = 0.1
# A request still unanswered after this long is a loss (server restarts take seconds, recovery a few more).
REQUEST_DEADLINE_S = 90.0


class Unanswered(Exception):
    """A request never got a definitive answer: the test fails with what was seen."""


@dataclass
class LoadStats:
    sent: int = 0
    answered: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    abandoned: list[str] = field(default_factory=list)
    # idempotency key -> the definitive payload the client finally got
    creates: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    process_intent: dict[str, str] = field(default_factory=dict)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_errors: list[Any] = field(default_factory=list)
    faults: int = 0

    def summary(self) -> str:
        return (
            f"{self.sent} requests sent, {self.answered} answered, {self.faults} faults injected, "
            f"{len(self.creates)} intents, {len(self.processes)} payments processed, "
            f"{len(self.abandoned)} abandoned then resumed, retries {dict(self.retries)}"
        )


class LoadClient:
    def __init__(self, url: str, secret_key: str, stats: LoadStats) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {secret_key}"}
        self.stats = stats

    async def send(self, http: httpx.AsyncClient, query: str, variables: dict[str, Any], give_up: bool = False) -> Any:
        """The operation's payload, retrying retryable failures; None if `give_up` and the first try failed."""
        deadline = time.monotonic() + REQUEST_DEADLINE_S
        last: object = None
        while time.monotonic() < deadline:
            self.stats.sent += 1
            try:
                response = await http.post(
                    f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=self.headers
                )
            except httpx.TransportError as error:
                last = error
                self.stats.retries[type(error).__name__] += 1
                if give_up:
                    return None
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            if response.status_code >= 500:
                self.stats.bad_errors.append((response.status_code, response.text[:300]))
                last = response.text
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            body = response.json()
            codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
            if codes:
                if set(codes) <= RETRYABLE_CODES:
                    self.stats.retries[codes[0]] += 1
                    last = body
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                self.stats.bad_errors.append(body)
                raise Unanswered(f"unexpected top-level errors: {body}")
            payload = next(iter(body["data"].values()))
            user_codes = [e["code"] for e in payload["userErrors"]]
            if set(user_codes) & RETRYABLE_CODES:
                self.stats.retries[user_codes[0]] += 1
                last = payload
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            self.stats.answered += 1
            return payload
        raise Unanswered(f"no answer within {REQUEST_DEADLINE_S} s; last: {last}")

    async def one_payment(self, http: httpx.AsyncClient, rng: random.Random, abandon_rate: float) -> None:
        create_key = f"c-{uuid.uuid4().hex}"
        manual = rng.random() < 0.3
        create_input = {"amount": rng.randint(100, 99_999), "currency": "usd"}
        if manual:
            create_input["captureMethod"] = "MANUAL"
        created = await self.send(http, CREATE, {"input": create_input, "key": create_key})
        assert created["userErrors"] == [], created
        self.stats.creates[create_key] = created
        intent_id = created["paymentIntent"]["id"]
        process_key = f"p-{uuid.uuid4().hex}"
        self.stats.process_intent[process_key] = intent_id
        self.stats.cards[process_key] = card(rng.choice(LOAD_CARDS))
        variables = {"input": {"id": intent_id, "card": self.stats.cards[process_key]}, "key": process_key}
        # Some clients vanish after a failed try: only the recovery job can finish their payments.
        give_up = rng.random() < abandon_rate
        processed = await self.send(http, PROCESS, variables, give_up=give_up)
        if processed is None:
            self.stats.abandoned.append(process_key)
            return
        assert processed["userErrors"] == [], processed
        self.stats.processes[process_key] = processed

    async def run(self, stop: asyncio.Event, seed: int, abandon_rate: float = 0.0) -> None:
        rng = random.Random(seed)
        async with httpx.AsyncClient(timeout=30) as http:
            while not stop.is_set():
                await self.one_payment(http, rng, abandon_rate)
