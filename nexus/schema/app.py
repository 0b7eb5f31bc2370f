"""The Strawberry schema and its ASGI view."""

from __future__ import annotations

import json
import logging

import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema.config import StrawberryConfig
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from nexus.config import Settings
from nexus.domain.errors import DomainError
from nexus.json_encoding import json_bytes, json_text
from nexus.observability import GRAPHQL_PATHS
from nexus.schema import compiled_resolvers, replay_responses
from nexus.schema.context import Context
from nexus.schema.direct_execution import DirectExecutor
from nexus.schema.errors import ErrorPolicy, pre_execution_code
from nexus.schema.execution_context import ExecutionContext
from nexus.schema.limits import limit_extensions
from nexus.schema.mutation import Mutation
from nexus.schema.operation_choice import OperationChoice
from nexus.schema.query import Query
from nexus.schema.subscription import Subscription
from nexus.schema.text_guard import TextGuard
from nexus.services.auth import authenticate
from nexus.state import AppState

log = logging.getLogger("nexus.graphql")
STRAWBERRY_PATH = GRAPHQL_PATHS.labels("strawberry")

# Distinct query texts kept parsed/validated; clients send a handful of shapes, 512 is ample.
DOCUMENT_CACHE_SIZE = 512
# graphql-transport-ws subscriptions one connection may hold: a dashboard needs a few, not hundreds.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20


def build_schema() -> strawberry.Schema:
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=ExecutionContext,
        extensions=[
            ErrorPolicy,
            TextGuard,
            OperationChoice,
            *limit_extensions(),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        ],
    )
    compiled_resolvers.install(schema)
    return schema


class GraphQLApp(GraphQL[Context, None]):
    holder: dict[str, AppState]
    direct: DirectExecutor | None

    @classmethod
    def build(cls, settings: Settings, holder: dict[str, AppState]) -> GraphQLApp:
        origins = tuple(settings.origins)
        app = cls(
            build_schema(),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=False,
            # Only graphql-transport-ws: the legacy graphql-ws protocol had an auth bypass.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
            allowed_origins=origins,
        )
        app.holder = holder
        app.direct = DirectExecutor(app.schema, json_bytes) if settings.direct_execution else None
        return app

    def encode_json(self, data: object) -> str:
        """Text, not bytes: Strawberry sends bytes on a WebSocket as a binary frame."""
        return json_text(data)

    def decode_json(self, data: str | bytes) -> object:
        """One JSON object per request (API.md: anything else is a 400, never a 500)."""
        try:
            decoded = json.loads(data)
        except RecursionError:  # "[[[[…" a million deep: the decoder runs out of stack
            raise HTTPException(400, "Unable to parse request body as JSON: nested too deeply") from None
        if not isinstance(decoded, dict):
            raise HTTPException(400, "The request body must be a JSON object with a `query` string")
        return decoded

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket | None) -> Context:
        plain_response = response if isinstance(response, Response) else None
        return Context(state=self.holder["state"], request=request, response=plain_response)

    async def run(  # type: ignore[override]  # one body for both of Strawberry's overloads
        self, request: Request | WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        """HTTP requests may be answered from a stored replay (nexus/schema/replay_responses.py)."""
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)

        async def through_strawberry() -> Response:
            STRAWBERRY_PATH.inc()
            return await GraphQL.run(self, request, context, root_value)

        state = self.holder.get("state")
        if context is not UNSET or state is None:
            return await through_strawberry()
        direct = self.direct
        if direct is None:
            return await replay_responses.respond(state, request, through_strawberry)

        async def execute() -> Response:
            return await direct.respond(request, lambda r: Context(state=state, request=r), through_strawberry)

        return await replay_responses.respond(state, request, execute)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Parse errors leave Strawberry before extensions see them (on_operation does not
        # resume for them): give every error still without a code its pre-execution code.
        for error in result.errors or ():
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": pre_execution_code(error.message)}
        return process_result(result)

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """A missing or bad key closes the socket with 4403 (API.md § Authentication)."""
        try:
            await authenticate(context.state.sessions, context.api_key())
        except DomainError as error:
            log.info("websocket refused: %s", error.message)
            raise ConnectionRejectionError() from None
        return None
