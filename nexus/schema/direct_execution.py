"""Plain JSON POSTs of known-good documents, executed straight on graphql-core.

Why: for a request that has nothing to check but its variables, Strawberry's HTTP view and
`Schema.execute` still build a request adapter, a sub-response, an execution context and six
extension instances, and enter their hooks. That was about 0.15 ms of the ~1.05 ms of API CPU
a createPaymentIntent costs (bench/README.md), on a machine that is CPU-bound.

What takes this path (anything else, or any doubt, goes through Strawberry unchanged):

- POST, `Content-Type: application/json`, no streaming `Accept` (multipart, SSE), a JSON object
  whose `query` is a string, `variables` an object or absent, `operationName` absent or the
  name of the document's one operation, and no `extensions`;
- a document that parses within the token limit, holds exactly one operation (a query or a
  mutation), passes validation with our cost rules (`limits.RULES`) and has no string literal
  PostgreSQL cannot store: decided once per document text and remembered (bounded);
- variables with no text PostgreSQL cannot store (TextGuard's check).

Execution is graphql-core's `execute` with Strawberry's own execution context class, the same
resolvers and the same context object; errors get the same codes, logging and masking as
through the extensions (`errors.code_error`), and the response is the same JSON. A document of
one root field with a plain payload is run without building graphql-core's executor
(nexus/schema/root_field.py), which answers as `execute` would.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql import ExecutionResult as CoreExecutionResult
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import process_result
from strawberry.schema.base import BaseSchema
from strawberry.types import ExecutionResult

from nexus.observability import GRAPHQL_PATHS
from nexus.schema.errors import code_error
from nexus.schema.execution_context import ExecutionContext
from nexus.schema.limits import MAX_TOKENS, RULES
from nexus.schema.root_field import IS_AWAITABLE, RootField
from nexus.schema.text_guard import literal_unstorable, unstorable_at

# Clients send a handful of document shapes; like the parser cache (DOCUMENT_CACHE_SIZE), 512
# distinct texts is ample, and a text that does not qualify is remembered too (as None), so it
# is not parsed here again.
MAX_DOCUMENTS: Final = 512
# Longer document texts are neither cached nor run here (Strawberry takes them): ours are under
# 2 KB and GraphiQL's introspection query ~4 KB, and 512 cached texts must not grow to 512 MB bodies.
MAX_DOCUMENT_CHARS: Final = 16 * 1024
# Larger bodies go straight to Strawberry rather than being decoded twice: a create with
# metadata at Stripe's limits is ~30 KB.
MAX_BODY_BYTES: Final = 64 * 1024
_RULES: Final = (*specified_rules, *RULES)
_STREAMING_ACCEPT: Final = ("multipart/", "text/event-stream")
_REQUEST_KEYS: Final = frozenset({"query", "variables", "operationName"})
DIRECT_PATH: Final = GRAPHQL_PATHS.labels("direct")


@dataclass(frozen=True)
class Accepted:
    """A document that may run directly: parsed and validated once."""

    document: DocumentNode
    operation_name: str | None
    # Its one root field, if it is run without graphql-core's executor (nexus/schema/root_field.py).
    root: RootField | None


class AcceptedDocuments:
    """Document text → Accepted (or None: always through Strawberry), least recently used dropped."""

    def __init__(
        self, schema: GraphQLSchema, executor_class: type[ExecutionContext], max_entries: int = MAX_DOCUMENTS
    ) -> None:
        self.schema = schema
        self.executor_class = executor_class
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Accepted | None] = OrderedDict()

    def get(self, query: str) -> Accepted | None:
        if len(query) > MAX_DOCUMENT_CHARS:
            return None
        if query in self._entries:
            self._entries.move_to_end(query)
            return self._entries[query]
        accepted = self._accept(query)
        self._entries[query] = accepted
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return accepted

    def _accept(self, query: str) -> Accepted | None:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation not in (OperationType.QUERY, OperationType.MUTATION):
            return None
        if validate(self.schema, document, _RULES) or literal_unstorable(query, document):
            return None
        name = operations[0].name
        root = RootField.of(self.schema, document, self.executor_class)
        return Accepted(document, name.value if name else None, root)


Fallback = Callable[[], Awaitable[Response]]
ContextFactory = Callable[[Request], Any]


class DirectExecutor:
    def __init__(self, schema: BaseSchema, encode_json: Callable[[object], str | bytes]) -> None:
        if not isinstance(schema, strawberry.Schema):
            raise TypeError("direct execution needs a strawberry.Schema (its graphql-core schema and context class)")
        context_class: type = schema.execution_context_class
        if not issubclass(context_class, ExecutionContext):
            raise TypeError("direct execution needs the schema's execution context to be ours (ExecutionContext)")
        self.schema = schema._schema
        self.execution_context_class = context_class
        self.documents = AcceptedDocuments(self.schema, context_class)
        self.encode_json = encode_json

    async def respond(self, request: Request, context: ContextFactory, fallback: Fallback) -> Response:
        """Run the request directly if it qualifies; otherwise Strawberry answers it (`fallback`)."""
        plan = await self._plan(request)
        if plan is None:
            return await fallback()
        accepted, variables = plan
        DIRECT_PATH.inc()
        context_value = context(request)
        result = None if accepted.root is None else await accepted.root.run(context_value, variables)
        if result is None:
            outcome = execute(
                self.schema,
                accepted.document,
                context_value=context_value,
                variable_values=variables,
                operation_name=accepted.operation_name,
                is_awaitable=IS_AWAITABLE,
                executor_class=self.execution_context_class,
                operation_extensions=None,  # Strawberry's execution context takes it (from `extensions`)
            )
            result = outcome if isinstance(outcome, CoreExecutionResult) else await outcome
        # code_error gives every error its code (the same function the ErrorPolicy extension uses).
        errors = [code_error(error) for error in result.errors] if result.errors else None
        payload = process_result(ExecutionResult(data=result.data, errors=errors))
        return Response(self.encode_json(payload), status_code=200, media_type="application/json")

    async def _plan(self, request: Request) -> tuple[Accepted, dict[str, Any] | None] | None:
        if request.method != "POST":
            return None
        headers = request.headers
        if not headers.get("content-type", "").startswith("application/json"):
            return None
        accept = headers.get("accept", "")
        if any(kind in accept for kind in _STREAMING_ACCEPT):
            return None
        body = await request.body()  # Starlette keeps the bytes for Strawberry
        if len(body) > MAX_BODY_BYTES:
            return None
        data = _decode(body)
        if data is None:
            return None
        query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
        if not isinstance(query, str) or not (variables is None or isinstance(variables, dict)):
            return None
        accepted = self.documents.get(query)
        if accepted is None or (name is not None and name != accepted.operation_name):
            return None
        if variables and unstorable_at(variables, "variables") is not None:
            return None
        return accepted, variables


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not data.keys() <= _REQUEST_KEYS:
        return None
    return data
