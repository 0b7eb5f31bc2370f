"""String literals in the query text that decode to unstorable text are refused before anything runs,
whether the bad character is escaped (`\\u0000`) or raw (the guard skips its walk only when neither can be)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.flows import key

LIST = "{ paymentIntents(first: 100) { edges { node { id } } } }"


@pytest.mark.parametrize("description", ["\\u0000", "\\ud800", "a\x00b"])
async def test_bad_literal_is_invalid_input_and_creates_nothing(merchant: dict[str, Any], description: str) -> None:
    client = merchant["client"]
    before = len((await client.data(LIST))["paymentIntents"]["edges"])
    query = (
        'mutation($k: String!) { createPaymentIntent(input: {amount: 1000, currency: "usd", '
        f'description: "{description}"}}, idempotencyKey: $k) {{ paymentIntent {{ id }} }} }}'
    )
    body = await client.raw(query, {"k": key()})
    assert body["errors"][0]["extensions"]["code"] in ("INVALID_INPUT", "GRAPHQL_PARSE_FAILED"), body
    assert len((await client.data(LIST))["paymentIntents"]["edges"]) == before


async def test_plain_literal_still_works(merchant: dict[str, Any]) -> None:
    query = (
        'mutation($k: String!) { createPaymentIntent(input: {amount: 1000, currency: "usd", '
        'description: "plain \\"quoted\\" text"}, idempotencyKey: $k) { paymentIntent { description } } }'
    )
    data = await merchant["client"].data(query, {"k": key()})
    assert data["createPaymentIntent"]["paymentIntent"]["description"] == 'plain "quoted" text'
