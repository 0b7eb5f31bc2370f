"""A document with several operations runs only the one `operationName` names (GraphQL spec).

Strawberry falls back to the document's first operation when no name is sent, so
`query A {…} query B {…}` silently ran A. The spec's GetOperation refuses it instead: the
client must say which. Direct execution never accepts such documents (one operation only),
so this check lives where they run: in Strawberry's execution, before anything executes.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

# graphql-core's own wording for the same refusal.
MESSAGE = "Must provide operation name if query contains multiple operations."


class OperationChoice(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # Strawberry's `operation_name` answers the first operation's name when none was sent.
        sent = context._provided_operation_name  # what the client sent; nothing derived
        if document is not None and sent is None:
            operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if operations > 1:
                error = GraphQLError(MESSAGE, extensions={"code": "GRAPHQL_VALIDATION_FAILED"})
                # A result set before yielding skips execution: nothing runs.
                context.result = ExecutionResult(data=None, errors=[error])
        yield
