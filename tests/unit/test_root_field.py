"""A document's one root field (nexus/schema/root_field.py) is answered exactly as graphql-core answers it.

Every check runs one document twice on a small Strawberry schema: through `RootField.run` and
through graphql-core's `execute` with our execution context (the direct path's general way),
and compares data and errors. The resolvers count their calls: the root-field path may hand a
value or an error to graphql-core's executor, but never runs the resolver again. (graphql-core
with our execution context may: a root field without arguments is plain, and a plain field the
plan gives up on is executed again from the start, which plain_selections allows because a
plain resolver changes nothing.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult, GraphQLResolveInfo, execute, parse
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.types import Info

from bench import scenarios
from nexus.schema import compiled_resolvers
from nexus.schema.app import build_schema
from nexus.schema.execution_context import ExecutionContext
from nexus.schema.root_field import RootField
from tests.api import gql

CALLS: list[str] = []
INFOS: list[GraphQLResolveInfo] = []


@strawberry.type
class Item:
    name: str
    count: int


@strawberry.type
class Payload:
    items: list[Item]
    note: str | None = None


@strawberry.input
class Want:
    count: int
    name: str = "n"


def payload(count: Any = 1) -> Payload:
    return Payload(items=[Item(name="a", count=count)], note="ok")


async def later(value: int) -> int:
    await asyncio.sleep(0)
    return value


@strawberry.type
class Query:
    @strawberry.field
    def item(self, want: Want) -> Payload:
        CALLS.append("item")
        return payload(want.count)

    @strawberry.field
    async def later_item(self, info: Info, want: Want) -> Payload | None:
        CALLS.append("later_item")
        INFOS.append(info._raw_info)
        total = sum(await info._raw_info.async_helpers.gather([later(1), later(2)]))
        return payload(want.count + total)

    @strawberry.field
    def fails(self) -> Payload:
        CALLS.append("fails")
        raise ValueError("the resolver failed")

    @strawberry.field
    async def fails_later(self) -> Payload | None:
        CALLS.append("fails_later")
        await asyncio.sleep(0)
        raise ValueError("the resolver failed later")

    @strawberry.field
    def nothing(self) -> Payload:
        CALLS.append("nothing")
        return None  # type: ignore[return-value]  # what graphql-core must report

    @strawberry.field
    def wrong(self) -> Payload | None:
        CALLS.append("wrong")
        return payload("not a number")  # Item.count refuses it: graphql-core nulls the item

    @strawberry.field
    def wrong_nullable_list(self) -> list[Payload | None]:
        CALLS.append("wrong_nullable_list")
        return [payload(2), payload("x")]


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def make(self, info: Info, want: Want, key: str) -> Payload:
        CALLS.append("make")
        INFOS.append(info._raw_info)
        return payload(want.count)


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, execution_context_class=ExecutionContext)
compiled_resolvers.install(SCHEMA)
CORE = SCHEMA._schema

ITEMS = "{ items { name count } note }"


def root(document: str) -> RootField | None:
    return RootField.of(CORE, parse(document), ExecutionContext)


async def both(document: str, variables: dict[str, Any] | None = None) -> tuple[ExecutionResult | None, Any]:
    """(the root-field path's result, graphql-core's), each with the resolvers it called."""
    field = root(document)
    assert field is not None, "the document must be one the root-field path runs"
    CALLS.clear()
    mine = await field.run({"who": "context"}, variables)
    assert len(CALLS) == 1, "the root-field path runs its resolver once, whatever happens after"
    outcome = execute(
        CORE,
        parse(document),
        context_value={"who": "context"},
        variable_values=variables,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        executor_class=ExecutionContext,
        operation_extensions=None,
    )
    theirs = outcome if isinstance(outcome, ExecutionResult) else await outcome
    return mine, theirs


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query($c: Int!) { item(want: {count: $c}) " + ITEMS + " }", {"c": 3}),
        ('{ renamed: item(want: {count: 4, name: "x"}) ' + ITEMS + " }", None),
        ("query($w: Want!) { laterItem(want: $w) " + ITEMS + " }", {"w": {"count": 5}}),
        ("{ fails " + ITEMS + " }", None),
        ("{ failsLater " + ITEMS + " }", None),
        ("{ nothing " + ITEMS + " }", None),
        ("{ wrong " + ITEMS + " }", None),
        ("{ wrongNullableList " + ITEMS + " }", None),
        ("mutation($w: Want!, $k: String!) { make(want: $w, key: $k) " + ITEMS + " }", {"w": {"count": 6}, "k": "k"}),
    ],
)
async def test_answers_as_graphql_core_does(document: str, variables: dict[str, Any] | None) -> None:
    mine, theirs = await both(document, variables)
    assert mine is not None
    assert mine.formatted == theirs.formatted
    assert mine.errors is None or [e.original_error.__class__ for e in mine.errors] == [
        e.original_error.__class__ for e in theirs.errors
    ]


async def test_a_failing_resolver_is_reported_as_graphql_core_reports_it() -> None:
    mine, _ = await both("{ fails " + ITEMS + " }")
    assert mine is not None and mine.data is None and mine.errors is not None
    assert mine.errors[0].path == ["fails"] and mine.errors[0].message == "the resolver failed"


@pytest.mark.parametrize(
    "variables",
    [
        {"w": {"count": "three"}},  # a value of the wrong type
        {"w": {}},  # a required input field missing
        {},  # a required variable missing
    ],
)
async def test_bad_variables_go_graphql_cores_way_with_nothing_run(variables: dict[str, Any]) -> None:
    field = root("query($w: Want!) { laterItem(want: $w) " + ITEMS + " }")
    assert field is not None
    CALLS.clear()
    assert await field.run(None, variables) is None
    assert CALLS == []


async def test_the_resolver_gets_the_info_graphql_core_would_give_it() -> None:
    document = "mutation($w: Want!, $k: String!) { made: make(want: $w, key: $k) " + ITEMS + " }"
    variables = {"w": {"count": 6}, "k": "key"}
    INFOS.clear()
    await both(document, variables)
    mine, theirs = INFOS
    for name in ("field_name", "return_type", "parent_type", "schema", "root_value", "variable_values", "context"):
        assert getattr(mine, name) == getattr(theirs, name), name
    assert mine.path.as_list() == theirs.path.as_list() == ["made"]
    assert mine.path.typename == theirs.path.typename == "Mutation"
    assert mine.operation.operation == theirs.operation.operation
    assert [node.name.value for node in mine.field_nodes] == [node.name.value for node in theirs.field_nodes]
    assert mine.fragments == theirs.fragments == {}
    assert mine.operation_extensions is None  # type: ignore[attr-defined]


async def test_tracked_work_is_settled() -> None:
    document = "query($w: Want!) { laterItem(want: $w) " + ITEMS + " }"
    field = root(document)
    assert field is not None
    settled: list[int] = []

    async def remember() -> None:
        await asyncio.sleep(0)
        settled.append(1)

    INFOS.clear()
    await field.run(None, {"w": {"count": 1}})
    INFOS[0].async_helpers.track([remember(), 3])
    for _ in range(5):
        await asyncio.sleep(0)
    assert settled == [1]


@pytest.mark.parametrize(
    "document",
    [
        "{ item(want: {count: 1}) " + ITEMS + " fails " + ITEMS + " }",  # two root fields
        "{ __typename }",
        "{ ...F } fragment F on Query { item(want: {count: 1}) " + ITEMS + " }",
        "query @skip(if: false) { item(want: {count: 1}) " + ITEMS + " }",
        "{ item(want: {count: 1}) @include(if: true) " + ITEMS + " }",
        "{ item(want: {count: 1}) { items { ... on Item { name } } } }",  # a fragment below: not plain
        "{ item(want: {count: 1}) " + ITEMS + " } query Other { fails " + ITEMS + " }",
    ],
)
def test_other_documents_are_left_to_graphql_core(document: str) -> None:
    assert root(document) is None


@pytest.mark.parametrize("document", [scenarios.CREATE, scenarios.PROCESS, scenarios.LIST, gql.CREATE, gql.GET])
def test_the_gateways_own_documents_take_the_root_field_path(document: str) -> None:
    schema = build_schema()
    assert RootField.of(schema._schema, parse(document), ExecutionContext) is not None
