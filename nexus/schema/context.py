"""Per-request context. On WebSockets it lives as long as the connection, so nothing in
it may cache data between operations: the principal is re-checked per operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from nexus.domain.errors import RateLimited
from nexus.schema.loaders import Loaders
from nexus.services.auth import Principal, authenticate_cached, parse_authorization
from nexus.state import AppState

# connection_init payload keys GraphiQL and clients use for the key (API.md § Authentication).
WS_KEY_NAMES = ("authorization", "Authorization", "X-API-KEY", "x-api-key")


@dataclass
class Context:
    state: AppState
    request: Request | WebSocket
    response: Response | None = None
    connection_params: dict[str, Any] | None = None
    _principal: Principal | None = field(default=None, repr=False)
    _loaders: Loaders | None = field(default=None, repr=False)

    @property
    def is_websocket(self) -> bool:
        return isinstance(self.request, WebSocket)

    def api_key(self) -> str | None:
        if self.is_websocket:
            params = self.connection_params or {}
            for name in WS_KEY_NAMES:
                value = params.get(name)
                if isinstance(value, str) and value:
                    return parse_authorization(value)
            return None
        headers = self.request.headers
        return parse_authorization(headers.get("authorization") or headers.get("x-api-key"))

    async def principal(self) -> Principal:
        """The caller; raises UNAUTHENTICATED / RATE_LIMITED. Cached per HTTP request only."""
        if self._principal is not None and not self.is_websocket:
            return self._principal
        principal = await authenticate_cached(self.state.sessions, self.api_key())
        wait = self.state.rate_limiter.check(principal.key_id)
        if wait > 0:
            raise RateLimited("too many requests for this API key; retry later", retry_after=wait)
        self._principal = principal
        return principal

    @property
    def loaders(self) -> Loaders:
        # WebSocket contexts outlive operations: never cache loads across them.
        if self._loaders is None or self.is_websocket:
            self._loaders = Loaders(self.state.sessions)
        return self._loaders
