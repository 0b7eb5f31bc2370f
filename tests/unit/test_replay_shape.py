"""Which documents' replays may be answered from stored bytes (nexus/schema/replay_shape.py)."""

from __future__ import annotations

import json

import pytest

from bench.scenarios import CREATE as BENCH_CREATE
from nexus.schema.replay_shape import ReplayShape, answer_is_replay, replay_shape
from tests.api.gql import CANCEL, CAPTURE, CREATE, PROCESS, REFUND

VARIABLES = {"input": {"amount": 2000, "currency": "usd"}, "key": "k-1", "k": "k-2"}


def _body(query: str, variables: dict[str, object] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": VARIABLES if variables is None else variables}).encode()


@pytest.mark.parametrize("document", [CREATE, CAPTURE, REFUND, BENCH_CREATE])
def test_fixed_selections_of_keyed_mutations_are_cacheable(document: str) -> None:
    assert replay_shape(_body(document)) is not None


def test_aliases_and_fragments_are_resolved() -> None:
    document = """mutation($input: CreatePaymentIntentInput!) {
      made: createPaymentIntent(input: $input, idempotencyKey: "literal") { ...P again: idempotentReplayed }
    }
    fragment P on PaymentIntentPayload {
      errs: userErrors { code } idempotentReplayed paymentIntent { ... on PaymentIntent { id } }
    }"""
    assert replay_shape(_body(document)) == ReplayShape("made", ("idempotentReplayed", "again"), ("errs",), "literal")


@pytest.mark.parametrize(
    "document",
    [
        PROCESS,  # card expiry is checked against today before the replay
        CANCEL,  # selects no idempotentReplayed: cannot tell a replay
        CREATE.replace("clientSecret version", "clientSecret version attempts { outcome }"),
        CREATE.replace("clientSecret version", "clientSecret version refunds { id }"),
        CREATE.replace("clientSecret version", "clientSecret version events { edges { node { id } } }"),
        CREATE.replace("idempotentReplayed", "idempotentReplayed @include(if: true)"),
        CREATE.replace("userErrors { code field message }", ""),
        CREATE.replace("mutation(", "query(", 1),
        CREATE + "\nmutation Other { __typename }",
        'mutation($k: String!) { createPaymentIntent(input: {amount: 1, currency: "usd"}, idempotencyKey: $k) '
        '{ idempotentReplayed userErrors { code } } cancelPaymentIntent(input: {id: "x"}) { userErrors { code } } }',
        'mutation { createPaymentIntent(input: {amount: 1, currency: "usd"}, idempotencyKey: $missing) '
        "{ idempotentReplayed userErrors { code } } }",
        "not graphql {",
    ],
)
def test_anything_else_is_not_cacheable(document: str) -> None:
    assert replay_shape(_body(document)) is None


def test_only_a_replayed_answer_without_errors_qualifies() -> None:
    shape = ReplayShape("createPaymentIntent", ("idempotentReplayed",), ("userErrors",), "k")

    def answer(replayed: object, user_errors: list[object], **extra: object) -> bytes:
        payload = {"idempotentReplayed": replayed, "userErrors": user_errors, "paymentIntent": {"id": "pi_1"}}
        return json.dumps({"data": {"createPaymentIntent": payload}, **extra}).encode()

    assert answer_is_replay(answer(True, []), shape)
    assert not answer_is_replay(answer(False, []), shape)
    assert not answer_is_replay(answer(True, [{"code": "INVALID_INPUT"}]), shape)
    assert not answer_is_replay(answer(True, [], errors=[{"message": "x"}]), shape)
