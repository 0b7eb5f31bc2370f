"""A document's one root field, resolved and completed without building graphql-core's executor.

Why: for every operation graphql-core 3.3 builds an executor (its error collector, its sets of
background and incremental work, resolve-info helpers), collects the root fields, reduces them
serially through coroutines and wraps the resolver's awaitable in two more before the payload is
completed: ~14 % of a createPaymentIntent's API CPU in one process (bench/README.md, fix 52).
A back end's mutation or query selects one root field, and for such a document none of that
decides anything.

Which documents (decided once, when the direct path accepts a document): one operation and no
fragment definition; no directive on the operation or on its root field; one root selection, a
field of the root type (not `__typename` or introspection) that has a resolver; and a type and
selection whose completion is plain (plain_selections), so the payload is completed by its plan.

Per request, graphql-core's own functions still coerce the variables (`get_variable_values`) and
the field's arguments (`get_argument_values`). If either fails, nothing has run yet, and `run`
returns None: the request goes graphql-core's way, which reports the same errors. The resolver
is called as graphql-core calls it, with the info Strawberry's execution context builds. If it
raises, or the plan gives up on its value, graphql-core's executor is built for the operation
there and then, and completes the value or reports the error exactly as it would have
(`_generally`): the resolver is never called twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeGuard, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, gather_with_cancel
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo

from nexus.schema import plain_selections
from nexus.schema.execution_context import GAVE_UP, ExecutionContext, by_plan

# graphql-core's default for `execute`, which the general path uses: the same errors either way.
MAX_COERCION_ERRORS: Final = 50
_OPERATIONS: Final = (OperationType.QUERY, OperationType.MUTATION)
# Strawberry's check, which the direct path hands graphql-core too (typed as graphql-core wants it).
IS_AWAITABLE: Final = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)
# Work a resolver hands to `info.async_helpers.track`: held until settled, as the executor does.
_BACKGROUND: set[asyncio.Future[Any]] = set()


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


def _track(values: Sequence[Any]) -> None:
    awaitables = [value for value in values if optimized_is_awaitable(value)]
    if awaitables:
        future = asyncio.gather(*awaitables, return_exceptions=True)
        _BACKGROUND.add(future)
        future.add_done_callback(_BACKGROUND.discard)


# What graphql-core's executor offers resolvers, without the executor (it has no hooks here).
HELPERS: Final = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


@dataclass(frozen=True, slots=True)
class RootField:
    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    parent_type: GraphQLObjectType
    field: GraphQLField
    node: FieldNode
    key: str
    complete: plain_selections.Complete
    executor_class: type[ExecutionContext]

    @classmethod
    def of(
        cls, schema: GraphQLSchema, document: DocumentNode, executor_class: type[ExecutionContext]
    ) -> RootField | None:
        """The document's root field, if the document is one this module runs (see the module doc)."""
        if len(document.definitions) != 1:
            return None
        operation = document.definitions[0]
        if not isinstance(operation, OperationDefinitionNode) or operation.directives:
            return None
        parent_type = schema.get_root_type(operation.operation) if operation.operation in _OPERATIONS else None
        selections = operation.selection_set.selections
        if parent_type is None or len(selections) != 1:
            return None
        node = selections[0]
        if not isinstance(node, FieldNode) or node.directives or node.name.value.startswith("__"):
            return None
        field = parent_type.fields.get(node.name.value)
        if field is None or field.resolve is None:
            return None
        complete = plain_selections.for_schema(schema).value(field.type, node)
        if complete is None:
            return None
        key = (node.alias or node.name).value
        return cls(schema, document, operation, parent_type, field, node, key, complete, executor_class)

    async def run(self, context: Any, raw_variables: dict[str, Any] | None) -> ExecutionResult | None:
        """The operation's result, or None (nothing has run) if it must go graphql-core's way."""
        variables = get_variable_values(
            self.schema, self.operation.variable_definitions or (), raw_variables or {}, MAX_COERCION_ERRORS
        )
        if isinstance(variables, list):
            return None  # graphql-core reports them, in an errors-only result
        field, node = self.field, self.node
        try:
            arguments = get_argument_values(field, node, variables) if field.args or node.arguments else {}
        except Exception:
            return None  # graphql-core reports it as the field's error
        path = Path(None, self.key, self.parent_type.name)
        info = _OperationContextAwareGraphQLResolveInfo(
            field_name=node.name.value,
            field_nodes=[node],
            return_type=field.type,
            parent_type=self.parent_type,
            path=path,
            schema=self.schema,
            fragments={},
            root_value=None,
            operation=self.operation,
            variable_values=variables.coerced,
            context=context,
            is_awaitable=optimized_is_awaitable,
            abort_signal=None,
            async_helpers=HELPERS,
            operation_extensions=None,  # type: ignore[arg-type]  # as the direct path's execute passes it
        )
        resolve = field.resolve
        assert resolve is not None, "RootField.of takes fields with a resolver only"
        try:
            value = resolve(None, info, **arguments)
            if optimized_is_awaitable(value):
                value = await value
        except Exception as error:
            return await self._generally(context, raw_variables, info, error, failed=True)
        completed = by_plan(self.complete, value)
        if completed is GAVE_UP:
            return await self._generally(context, raw_variables, info, value, failed=False)
        return ExecutionResult({self.key: completed}, None)

    async def _generally(
        self, context: Any, raw_variables: dict[str, Any] | None, info: Any, outcome: Any, *, failed: bool
    ) -> ExecutionResult:
        """What graphql-core's executor makes of the resolver's outcome (an exception if `failed`,
        else its value): `execute_field` and `execute_operation`, from the resolver on."""
        executor = self.executor_class.build(
            self.schema,
            self.document,
            None,
            context,
            raw_variables,
            is_awaitable=IS_AWAITABLE,
            operation_extensions=None,
        )
        if isinstance(executor, list):  # the same variables were coerced without errors above
            return ExecutionResult(None, executor)
        return_type, details, path = self.field.type, [FieldDetails(self.node, None)], info.path
        try:
            if failed:
                raise outcome
            completed = executor.complete_value(return_type, details, info, path, outcome, None)
            if optimized_is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            try:
                executor.handle_field_error(raw_error, return_type, details, path)
            except GraphQLError as error:  # a non-null field: the error nulls the whole response
                executor.collected_errors.add(error, None)
                return executor.build_response(None)  # type: ignore[return-value]
            completed = None
        return executor.build_response({self.key: completed})  # type: ignore[return-value]
