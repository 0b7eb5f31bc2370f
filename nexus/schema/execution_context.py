"""Strawberry's execution context without the reference cycle graphql-core 3.3 builds per operation.

graphql-core's executor hands resolvers `async_helpers`: two bound methods of the executor,
stored on the executor itself. That cycle (executor → helpers → bound method → executor)
keeps every operation's executor, its collected fields, variables and our Context (the
request, its headers, the principal) alive until the cyclic garbage collector runs: about 70
objects per createPaymentIntent. With them, a gen-0 collection came every ~180 requests and
took ~6.5 ms (nexus/gc_tuning.py), a stall every request in flight waits through.
The helpers here reach the executor through a weak reference, so reference counting frees
the whole operation when it ends. The executor is alive whenever a resolver can call them:
the running operation holds it.

It also resolves and completes plain fields by their plans (nexus/schema/plain_selections.py),
and completes by its plan a plain value below a field that is not plain itself (a mutation's
payload below its resolver, which takes arguments and `info`).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from typing import Any

from graphql import FieldNode, GraphQLObjectType, GraphQLOutputType, GraphQLResolveInfo
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from nexus.schema import plain_selections


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        executor = weakref.ref(self)

        def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
            return _alive(executor).gather_async_work(values)

        def track(values: Sequence[Awaitable[Any]]) -> None:
            _alive(executor).track_async_work(values)

        self.async_helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)
        self.plain_selections = plain_selections.for_schema(self.schema)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """A plain field is resolved and completed by its plan (plain_selections); if the plan
        gives up on this value, or there is none, graphql-core executes the field from the start."""
        node = self._plain_node(field_details_list)
        if node is not None:
            completed = by_plan(self.plain_selections.field(parent_type, node), source)
            if completed is not GAVE_UP:
                return completed
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A resolved value whose type and selection are plain is completed by its plan (a
        mutation's payload, below a resolver that is not plain); if the plan gives up on it,
        graphql-core completes it the general way."""
        node = self._plain_node(field_details_list)
        if node is not None:
            completed = by_plan(self.plain_selections.value(return_type, node), result)
            if completed is not GAVE_UP:
                return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _plain_node(self, field_details_list: FieldDetailsList) -> FieldNode | None:
        """The field's one node, if nothing but the document decides how it completes (no
        middleware, no merged nodes, no @defer, no fragment variables)."""
        if self.middleware_manager is not None or len(field_details_list) != 1:
            return None
        details = field_details_list[0]
        if details.defer_usage is not None or details.fragment_variable_values is not None:
            return None
        return details.node


# What by_plan returns when there is no plan or it gave up: None is a completed value.
GAVE_UP: Any = object()


def by_plan(complete: plain_selections.Complete | None, value: Any) -> Any:
    if complete is None:
        return GAVE_UP
    try:
        return complete(value)
    except Exception:  # graphql-core executes or completes it the general way, errors and all
        return GAVE_UP


def _alive(executor: weakref.ref[ExecutionContext]) -> ExecutionContext:
    current = executor()
    if current is None:  # only reachable by a resolver outliving its operation
        raise RuntimeError("the GraphQL operation these async helpers belong to has ended")
    return current
