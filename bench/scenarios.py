"""The five scenarios: their GraphQL documents and what a correct answer contains.

The documents select what a merchant's server typically reads back; the same
documents are used by wrk (Lua), the Python generator and the smoke test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CREATE = (
    'mutation($k:String!){createPaymentIntent(input:{amount:2000,currency:"usd"},idempotencyKey:$k)'
    "{paymentIntent{id status amount currency clientSecret} idempotentReplayed userErrors{code}}}"
)
PROCESS = (
    'mutation($id:ID!,$k:String!){processPaymentIntent(input:{id:$id,card:{number:"4242424242424242",'
    'expMonth:12,expYear:2034,cvc:"123"}},idempotencyKey:$k)'
    "{paymentIntent{id status amountReceived} idempotentReplayed userErrors{code}}}"
)
LIST = "{paymentIntents(first:50){edges{cursor node{id amount currency status createdAt}} pageInfo{hasNextPage}}}"
# The replay storm re-sends one createPaymentIntent with one key: every answer after the first is stored.
REPLAY_KEY_VARIABLES = {"k": "bench-replay-storm"}


@dataclass(frozen=True)
class Scenario:
    name: str  # a..e as in issue 7
    title: str
    generator: str  # "wrk" (or the Python fallback) or "python" (multi-step flows)
    # Substring every good response body contains; any "errors" or non-empty userErrors is a failure.
    expect: str


SCENARIOS = {
    "a": Scenario("a", "createPaymentIntent, fresh idempotency key", "wrk", '"userErrors":[]'),
    "b": Scenario("b", "processPaymentIntent 4242… on a pre-created intent", "wrk", '"status":"SUCCEEDED"'),
    "c": Scenario("c", "create → process → webhook received", "python", '"status":"SUCCEEDED"'),
    "d": Scenario("d", "idempotent replay storm (one key)", "wrk", '"idempotentReplayed":true'),
    "e": Scenario("e", "paymentIntents(first: 50)", "wrk", '"pageInfo"'),
}


def body(query: str, variables: dict[str, str] | None = None) -> str:
    return json.dumps({"query": query, "variables": variables or {}}, separators=(",", ":"))
