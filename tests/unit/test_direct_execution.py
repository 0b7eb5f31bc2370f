"""Which documents may skip Strawberry's view (nexus/schema/direct_execution.py): decided once, no I/O."""

from __future__ import annotations

import pytest

from nexus.schema.app import build_schema
from nexus.schema.direct_execution import MAX_DOCUMENT_CHARS, AcceptedDocuments
from nexus.schema.execution_context import ExecutionContext
from nexus.schema.limits import MAX_ALIASES, MAX_TOKENS

SCHEMA = build_schema()._schema

CREATE = (
    'mutation Create($k: String!) { createPaymentIntent(input: {amount: 100, currency: "usd"}, '
    "idempotencyKey: $k) { paymentIntent { id } userErrors { code } } }"
)


def documents(max_entries: int = 8) -> AcceptedDocuments:
    return AcceptedDocuments(SCHEMA, ExecutionContext, max_entries)


def test_a_valid_query_or_mutation_is_accepted_with_its_operation_name() -> None:
    accepted = documents().get(CREATE)
    assert accepted is not None and accepted.operation_name == "Create"
    anonymous = documents().get("{ __typename }")
    assert anonymous is not None and anonymous.operation_name is None


def _aliased(count: int) -> str:
    # Valid for the standard rules at any count: only our cost rule (MaxAliasesRule) refuses it.
    return "{ " + " ".join(f"a{i}: paymentIntents(first: 1) {{ edges {{ cursor }} }}" for i in range(count)) + " }"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param('subscription { paymentIntentUpdated(id: "pi_1") { id } }', id="subscription"),
        pytest.param("query A { __typename } query B { __typename }", id="two operations"),
        pytest.param("{ paymentIntent(id: ", id="syntax error"),
        pytest.param("{ noSuchField }", id="validation error"),
        pytest.param("fragment F on Query { __typename }", id="no operation"),
        pytest.param(_aliased(MAX_ALIASES + 1), id="more aliases than the limit"),
        pytest.param("{ " + "__typename " * (MAX_TOKENS + 1) + "}", id="more tokens than the limit"),
        pytest.param(
            'mutation { createPaymentIntent(input: {amount: 100, currency: "usd", description: "a\\u0000b"}, '
            'idempotencyKey: "k") { userErrors { code } } }',
            id="NUL in a string literal",
        ),
    ],
)
def test_anything_else_goes_through_strawberry(query: str) -> None:
    assert documents().get(query) is None


def test_an_escape_outside_any_string_literal_is_harmless() -> None:
    query = "{ paymentIntents(first: 1, status: SUCCEEDED) { edges { node { id } } } } # \\u0000"
    assert documents().get(query) is not None


def test_the_alias_limit_itself_is_accepted() -> None:
    assert documents().get(_aliased(MAX_ALIASES)) is not None


def test_decisions_are_remembered_and_bounded() -> None:
    docs = documents(max_entries=2)
    first = docs.get(CREATE)
    assert docs.get(CREATE) is first  # parsed once
    assert docs.get("{ noSuchField }") is None  # refusals are remembered too
    docs.get("{ __typename }")  # a third text drops the least recently used (CREATE)
    assert docs.get(CREATE) is not first


def test_the_same_literal_without_the_nul_is_accepted() -> None:
    query = (
        'mutation { createPaymentIntent(input: {amount: 100, currency: "usd", description: "ab"}, '
        'idempotencyKey: "k") { userErrors { code } } }'
    )
    assert documents().get(query) is not None


def test_long_document_texts_are_neither_accepted_nor_kept() -> None:
    docs = documents(max_entries=4)
    # Valid and tiny in tokens (one comment), but longer than any document this API needs.
    query = "{ __typename } #" + "x" * MAX_DOCUMENT_CHARS
    assert docs.get(query) is None
    assert query not in docs._entries
