"""POST /graphql from a back end, taken to the GraphQL app past the layers that do nothing for it.

Why: a merchant's server posting a mutation went through seven ASGI layers before the GraphQL
app: Starlette's error middleware, our request context, the body limit, CORS, Starlette's
exception middleware, the router (matching each route's pattern in turn) and the route. For a
request with a declared Content-Length within the body limit and no `Origin` header, all but
the request context do nothing:

- the body limit only refuses a declared length over the limit, or a chunked body that grows
  past it (the HTTP parser holds a body to its declared length);
- CORS passes a request without `Origin` through untouched (browsers send `Origin` on every
  POST they make, so their requests keep the whole stack);
- the exception middleware turns Starlette's HTTPException into a response, and nothing on
  this route raises one (Strawberry answers its own HTTP errors);
- the error middleware answers an unexpected exception with a plain 500 and re-raises it,
  which uvicorn does too when the app raises before responding.

So those requests skip them: ~20 µs of a create's ~380 µs of API CPU (bench/README.md, fix 49).
Every other request (a browser's, a chunked or oversized body, any other path, method or
WebSocket) goes through the whole stack as before.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from nexus.observability import RequestContextMiddleware

GRAPHQL_PATH: Final = "/graphql"


def takes_shortcut(scope: Scope, max_body_bytes: int) -> bool:
    """A POST /graphql with a declared length within the limit and no Origin (see above)."""
    if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH or scope["method"] != "POST":
        return False
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"origin" or name == b"transfer-encoding":
            return False
        if name == b"content-length":
            if length is not None or not value.isdigit():  # repeated or not a plain number: the full stack decides
                return False
            length = int(value)
    return length is not None and length <= max_body_bytes


class GatewayApp(Starlette):
    """Starlette, with a back end's POST /graphql sent past the middleware that does nothing for it."""

    def __init__(self, *, graphql: ASGIApp, max_body_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_body_bytes = max_body_bytes
        # The same request id, X-Request-Id header and metrics as every other request.
        self.graphql_post = RequestContextMiddleware(graphql)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if takes_shortcut(scope, self.max_body_bytes):
            scope["app"] = self
            await self.graphql_post(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)
