"""GraphQL error shapes: UserError in payloads, coded top-level errors, masking."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from nexus.db.availability import is_database_unavailable
from nexus.domain.errors import DomainError
from nexus.domain.errors import ErrorCode as DomainErrorCode

log = logging.getLogger("nexus.graphql")

ErrorCode = strawberry.enum(DomainErrorCode, name="ErrorCode")

MASKED_MESSAGE = "Internal server error."
UNAVAILABLE_MESSAGE = "The database is unavailable; retry the same request (with its idempotency key) shortly."
# Seconds a client should wait before retrying after a database outage: PostgreSQL restarts in about that.
UNAVAILABLE_RETRY_AFTER_S = 1


@strawberry.type
class UserError:
    code: ErrorCode  # type: ignore[valid-type]
    field: list[str] | None
    message: str

    @classmethod
    def from_domain(cls, error: DomainError) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)


def from_domain(error: DomainError) -> GraphQLError:
    extensions: dict[str, Any] = {"code": error.code.value}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        extensions["retryAfter"] = max(1, round(retry_after))
    return GraphQLError(error.message, extensions=extensions)


class ErrorPolicy(SchemaExtension):
    """Give every error a code, log expected ones as one line, mask real bugs.

    Validation and parse errors have no original_error: they are coded, never
    masked. Errors raised with a code are expected. Anything else is a bug: its
    traceback is logged and the client sees only INTERNAL_SERVER_ERROR.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [code_error(error) for error in errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Subscriptions (WebSocket, SSE) send each result as it is produced, before
        # on_operation ends: code its errors here, or NOT_FOUND would leave uncoded.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [code_error(error) for error in errors]
        yield


def code_error(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it: coded, logged once, masked if it is a bug."""
    original = error.original_error
    code = (error.extensions or {}).get("code")
    if isinstance(original, DomainError):
        coded = from_domain(original)
        log.info("graphql error %s: %s", original.code.value, original.message)
        return GraphQLError(coded.message, error.nodes, path=error.path, extensions=coded.extensions)
    if code:
        log.info("graphql error %s: %s", code, error.message)
        return error
    if original is None or _is_coercion_failure(error):
        code = pre_execution_code(error.message)
        log.info("graphql error %s: %s", code, error.message)
        return GraphQLError(error.message, error.nodes, path=error.path, extensions={"code": code})
    if is_database_unavailable(original):
        # Not a bug: the transaction rolled back and the same request may be sent again.
        log.warning("database unavailable in %s: %s", error.path, type(original).__name__)
        return GraphQLError(
            UNAVAILABLE_MESSAGE,
            error.nodes,
            path=error.path,
            extensions={"code": "SERVICE_UNAVAILABLE", "retryable": True, "retryAfter": UNAVAILABLE_RETRY_AFTER_S},
        )
    log.error("unexpected error in %s", error.path, exc_info=original)
    return GraphQLError(MASKED_MESSAGE, error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"})


def _is_coercion_failure(error: GraphQLError) -> bool:
    """A variable the schema could not accept (Int beyond 32 bits, unknown enum value, null for a
    non-null): raised before execution, so without a path, wrapping the scalar's own error.
    A client mistake, not a bug; its message names the variable and the type, nothing internal."""
    return error.path is None and isinstance(error.original_error, GraphQLError | ValueError | TypeError)


def pre_execution_code(message: str) -> str:
    if "tokens" in message and message.startswith("Syntax Error"):
        return "QUERY_TOO_COMPLEX"  # the parser's token limit
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"
