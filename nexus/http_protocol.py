"""uvicorn's httptools protocol, sending a fixed-length response's head and body in one write.

Why: uvicorn writes the status line and headers when the app sends `http.response.start`,
and the body when it sends `http.response.body`: two `send()` system calls and two TCP
segments for every response, and a client (a load balancer, wrk) woken twice to read one
answer. Every GraphQL response is one fixed-length body sent right after its head, so the
head can wait for it and both leave in one write (bench/README.md, fix 48).

Only a response with a `Content-Length` and a body to send is held, and only until its first
body write: a streaming (chunked) response's head goes out at once as before, so a client
waiting on a stream sees its status line without waiting for the first event, and a HEAD
response (which has no body write) is never held. When the cycle closes the connection with
the head still held (the app failed after starting its response), the head goes out first,
as uvicorn would have sent it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class HeadHoldingTransport:
    """One response's view of the connection: holds its head until the first body write."""

    __slots__ = ("_cycle", "_head", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None
        self._held = False  # a response has one head: hold at most one write

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._head is not None:
            data = self._head + bytes(data)
            self._head = None
        elif not self._held and self._holds_head():
            self._held = True
            self._head = bytes(data)
            return
        self._transport.write(data)

    def _holds_head(self) -> bool:
        """The write is the head of a fixed-length response with a body still to come: uvicorn
        marks the response started and reads its Content-Length before writing the head."""
        cycle = self._cycle
        return (
            cycle.response_started
            and not cycle.response_complete
            and cycle.chunked_encoding is False
            and cycle.expected_content_length > 0
            and cycle.scope["method"] != "HEAD"
        )

    def close(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, …: the connection's own
        return getattr(self._transport, name)


class HeadHoldingProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        previous = self.cycle
        super().on_headers_complete()
        # A new cycle's task is created but has not run yet (nor has a pipelined one), so its
        # transport can still be swapped; an upgrade returns without a new cycle.
        if self.cycle is not previous and self.cycle is not None:
            self.cycle.transport = HeadHoldingTransport(self.transport, self.cycle)  # type: ignore[assignment]
