"""Refuse request bodies over a size limit with 413, before anything parses them.

Pure ASGI so it works for any route: a declared Content-Length over the limit
is refused without reading a byte; a chunked body is counted as it streams and
refused the moment it passes the limit, so no handler ever buffers more.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# 1 MiB: the largest legitimate request is a query within the 5,000-token limit (tens of KB) with
# metadata (Stripe caps it at 50 keys of 500 characters, ~25 KB); 1 MiB leaves ample headroom while
# keeping a flood of large bodies from pinning memory.
MAX_BODY_BYTES = 1024 * 1024
# After refusing, read and discard this much more of the body so the client, still sending, reads
# our 413 instead of a connection reset; a body beyond it is cut off (the connection then closes).
DRAIN_BYTES = 8 * MAX_BODY_BYTES


class BodyTooLarge(Exception):
    """Raised from `receive` once a streamed body passes the limit."""


def _refusal(limit: int) -> bytes:
    error = {"message": f"request body is larger than {limit} bytes", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
    return json.dumps({"errors": [error]}).encode()


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _drain(receive, 0)
            await self._refuse(send)
            return
        received = 0
        started = False
        body_done = False

        async def counting_receive() -> Message:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                if not body_done:
                    await _drain(receive, received)
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = _refusal(self.max_bytes)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        # The client may still be sending: tell it the connection ends here.
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, already: int) -> None:
    total = already
    while total <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        total += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
