"""An operation's executor, and the context it carries, are freed by reference counting alone."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest
from graphql import ExecutionResult, GraphQLResolveInfo, execute, parse
from graphql import build_schema as build_graphql_schema
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from nexus.schema.app import build_schema
from nexus.schema.execution_context import ExecutionContext

SCHEMA = build_schema()
# A query with a nested selection, so the executor collects subfields and completes objects.
QUERY = parse("{ __typename __schema { queryType { name fields { name } } } }")


class Context:
    """Stands in for nexus.schema.context.Context (the request, its headers, the principal)."""


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _context_outlives_operation(executor_class: type[StrawberryGraphQLCoreExecutionContext]) -> bool:
    context = Context()
    alive = weakref.ref(context)
    outcome = execute(SCHEMA._schema, QUERY, context_value=context, executor_class=executor_class)
    result = outcome if isinstance(outcome, ExecutionResult) else await outcome
    assert result.errors is None and result.data is not None
    del context, outcome, result
    return alive() is not None


@pytest.mark.usefixtures("no_cycle_collector")
async def test_our_execution_context_leaves_no_cycle() -> None:
    assert not await _context_outlives_operation(ExecutionContext)


@pytest.mark.usefixtures("no_cycle_collector")
async def test_strawberrys_own_context_keeps_the_operation_until_a_collection() -> None:
    # The control: what ExecutionContext exists for. If graphql-core drops the cycle one day,
    # this fails and the subclass can go.
    assert await _context_outlives_operation(StrawberryGraphQLCoreExecutionContext)


def test_the_schema_uses_it() -> None:
    assert SCHEMA.execution_context_class is ExecutionContext


async def test_resolvers_can_still_gather_and_track_async_work() -> None:
    schema = build_graphql_schema("type Query { total: Int }")
    tracked: list[int] = []

    async def later(value: int) -> int:
        await asyncio.sleep(0)
        return value

    async def remember(value: int) -> None:
        await asyncio.sleep(0)
        tracked.append(value)

    async def total(_root: object, info: GraphQLResolveInfo) -> int:
        info.async_helpers.track([remember(7)])
        return sum(await info.async_helpers.gather([later(1), later(2)]))

    schema.query_type.fields["total"].resolve = total  # type: ignore[union-attr]
    outcome = execute(schema, parse("{ total }"), executor_class=ExecutionContext)
    result = outcome if isinstance(outcome, ExecutionResult) else await outcome
    assert result.errors is None and result.data == {"total": 3}
    assert tracked == [7]  # tracked work settles before the result is returned
