"""`nexus listen`: a merchant's webhook endpoint on the developer's own machine.

Point a webhook endpoint at it (http://127.0.0.1:4242/) to watch deliveries
arrive: it verifies each signature like a merchant's server should, prints one
line per event and, with `--forward-to`, passes the delivery on untouched to
the merchant's app under development, answering with that app's status so
the gateway's retries behave exactly as they would in production.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from nexus.webhooks.signing import SignatureVerificationError, secret_key_bytes, verify
from nexus.webhooks.urls import validate_webhook_url

# Loopback only: a development tool that prints payment data must not be
# reachable from the network it happens to be on.
LISTEN_HOST = "127.0.0.1"
# Just under the gateway's default 10 s delivery timeout, so a slow app shows up
# at the gateway as our 502, recorded with a reason, rather than a bare timeout.
FORWARD_TIMEOUT_SECONDS = 9.0
# Event types and ids are under 40 characters; anything far longer is not from
# the gateway, and cutting it keeps one event on one terminal line.
MAX_FIELD_CHARS = 100
# Per-connection headers (RFC 9110 § 7.6.1) are not copied to the new
# connection; host and content-length are recomputed by httpx for the target.
_NOT_FORWARDED = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
)


class _Rejected(Exception):
    """A delivery answered with 400; the message is the one-line reason."""


@dataclass
class _Listener:
    secret: str | None
    forward_to: str | None
    out: TextIO
    client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self.secret is None:
            self._say("warning: no --secret given, webhook signatures are NOT verified")
        # One client for the process (DESIGN.md); redirects are not followed,
        # as the gateway does not follow them either.
        async with httpx.AsyncClient(timeout=FORWARD_TIMEOUT_SECONDS, follow_redirects=False) as client:
            self.client = client
            yield
        self.client = None

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            event = self._accept(body, request.headers)
        except _Rejected as exc:
            self._say(f"{_now()} rejected: {exc}")
            return PlainTextResponse(f"{exc}\n", status_code=400)
        line = _describe(event, verified=self.secret is not None)
        if self.forward_to is None:
            self._say(line)
            return PlainTextResponse("ok\n")
        response = await self._forward(self.forward_to, body, request.headers)
        self._say(f"{line} forwarded={response.status_code}")
        return response

    def _accept(self, body: bytes, headers: Headers) -> dict[str, object]:
        if self.secret is not None:
            try:
                verify(body, headers, self.secret)
            except SignatureVerificationError as exc:
                raise _Rejected(f"bad signature: {exc}") from None
        try:
            event = json.loads(body)
        except ValueError:
            raise _Rejected("body is not JSON") from None
        if not isinstance(event, dict):
            raise _Rejected("body is not a JSON object")
        return event

    async def _forward(self, target: str, body: bytes, headers: Headers) -> Response:
        if self.client is None:
            raise RuntimeError("the listener's HTTP client exists only while the app runs")
        # A list, not a dict: repeated headers are forwarded as they came.
        outgoing = [(name, value) for name, value in headers.items() if name.lower() not in _NOT_FORWARDED]
        try:
            upstream = await self.client.post(target, content=body, headers=outgoing)
        except httpx.HTTPError as exc:
            reason = f"forwarding to {target} failed: {type(exc).__name__}"
            return PlainTextResponse(f"{reason}\n", status_code=502)
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type"),
        )

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def create_listener_app(secret: str | None, forward_to: str | None, out: TextIO | None = None) -> Starlette:
    """The listener as an ASGI app: POST (to any path) receives one delivery.

    Raises ValueError for a malformed secret or forward URL: better now than a
    400 on every delivery.
    """
    if secret is not None:
        secret_key_bytes(secret)
    if forward_to is not None:
        forward_to = validate_webhook_url(forward_to)
    listener = _Listener(secret=secret, forward_to=forward_to, out=out if out is not None else sys.stdout)
    # Any path: merchants often register ".../webhooks" and forget to change it.
    routes = [
        Route("/", listener.receive, methods=["POST"]),
        Route("/{path:path}", listener.receive, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=listener.lifespan)


def run_listener(port: int, secret: str | None, forward_to: str | None) -> None:
    """Serve the listener on 127.0.0.1:`port` until interrupted.

    Raises ValueError (before binding the port) for a malformed secret or forward URL.
    """
    app = create_listener_app(secret, forward_to)
    target = f", forwarding to {forward_to}" if forward_to else ""
    print(f"Listening for Nexus webhooks on http://{LISTEN_HOST}:{port}/{target}", flush=True)
    # Warnings only, no access log: the one line per event above is the output.
    uvicorn.run(app, host=LISTEN_HOST, port=port, log_level="warning", access_log=False)


def _describe(event: Mapping[str, object], verified: bool) -> str:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    fields: Mapping[str, object] = obj if isinstance(obj, dict) else {}
    words = [
        _now(),
        _shown(event.get("type")),
        _shown(event.get("id")),
        _shown(fields.get("id")),
        f"status={_shown(fields.get('status'))}",
    ]
    if verified:
        words.append("[signature ok]")
    return " ".join(words)


def _shown(value: object) -> str:
    """A body field fit for a terminal: the body is untrusted until verified,
    and escape sequences in it must not drive the developer's terminal."""
    if value is None:
        return "-"
    text = str(value)[:MAX_FIELD_CHARS]
    return "".join(char if char.isprintable() and not char.isspace() else "?" for char in text)


def _now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
