"""A fixed-length response's head waits for its body and both leave together; every other
response is sent as uvicorn sends it (nexus.http_protocol), on a real uvicorn server and socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import uvicorn

from nexus.http_protocol import HeadHoldingProtocol

# How long a client waits to see that nothing arrives: the server is in this process, on
# loopback, and answers in well under a millisecond when it has something to send.
QUIET_S = 0.3
# How long a client waits for what must arrive: generous, for a loaded machine.
ARRIVE_S = 10
# A failed test must not hang its teardown on a connection still open.
SHUTDOWN_S = 2
BODY = b'{"data":{"ok":true}}'

Send = Callable[[dict[str, Any]], Awaitable[None]]


class App:
    """Responses shaped by path; `release` lets the test decide when a body is sent."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/echo":  # reads its body first, as the GraphQL app does
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        if path == "/stream":  # chunked: no Content-Length
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await self.release.wait()
            await send({"type": "http.response.body", "body": b"event", "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        length = b"0" if path == "/empty" else str(len(BODY)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]})
        if path == "/fail":
            raise RuntimeError("the app fails after starting its response")
        if path == "/slow":
            await self.release.wait()
        await send({"type": "http.response.body", "body": b"" if path == "/empty" else BODY})


@pytest.fixture
async def served() -> AsyncIterator[tuple[App, int]]:
    app = App()
    config = uvicorn.Config(
        app,
        http=HeadHoldingProtocol,
        lifespan="off",
        log_config=None,
        timeout_graceful_shutdown=SHUTDOWN_S,
    )
    server = uvicorn.Server(config)
    # Listening before the server starts: a client's connection waits in the backlog.
    listening = socket.create_server(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    yield app, listening.getsockname()[1]
    app.release.set()  # a test that failed midway leaves no response waiting
    server.should_exit = True
    await task


async def nothing_arrives(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(65536), QUIET_S) == b""
    except TimeoutError:
        return True


async def head(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), ARRIVE_S)


async def response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One fixed-length response: its head and its body."""
    first = await head(reader)
    length = int(first.split(b"content-length: ")[1].split(b"\r\n")[0])
    return first, await asyncio.wait_for(reader.readexactly(length), ARRIVE_S)


def request(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nhost: test\r\n\r\n".encode()


async def test_a_fixed_length_head_waits_for_its_body(served: tuple[App, int]) -> None:
    app, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request("/slow"))
    assert await nothing_arrives(reader), "the head must not leave before the body"
    app.release.set()
    first, body = await response(reader)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and body == BODY
    writer.close()


async def test_a_streaming_head_leaves_at_once(served: tuple[App, int]) -> None:
    app, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request("/stream"))
    # A client waiting on a stream sees its status before the first event.
    first = await head(reader)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"transfer-encoding: chunked" in first
    app.release.set()
    chunks = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), ARRIVE_S)
    assert chunks == b"5\r\nevent\r\n0\r\n\r\n"
    writer.close()


async def test_head_and_empty_responses_are_sent_whole(served: tuple[App, int]) -> None:
    _, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request("/fixed", "HEAD"))  # a HEAD response has no body write to wait for
    first = await head(reader)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and first.endswith(b"content-length: 20\r\n\r\n")
    writer.write(request("/empty"))
    empty, body = await response(reader)
    assert empty.startswith(b"HTTP/1.1 200 OK\r\n") and body == b""
    assert await nothing_arrives(reader)
    writer.close()


async def test_pipelined_requests_get_their_responses_in_order(served: tuple[App, int]) -> None:
    _, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request("/a") + request("/empty") + request("/b"))
    answers = [await response(reader) for _ in range(3)]
    assert [first.split(b"\r\n")[0] for first, _ in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert [body for _, body in answers] == [BODY, b"", BODY]
    assert await nothing_arrives(reader)
    writer.close()


async def test_a_held_head_is_sent_before_a_failing_app_closes_the_connection(served: tuple[App, int]) -> None:
    _, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request("/fail"))
    # uvicorn closes a connection whose response the app started and never finished; the
    # client gets the head it would have got without the holding, then end of stream.
    data = await asyncio.wait_for(reader.read(), 5)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\n")
    writer.close()


async def test_a_100_continue_is_sent_at_once_and_the_answer_after_the_body(served: tuple[App, int]) -> None:
    """curl sends `Expect: 100-continue` before a body over 1 KiB and waits for the interim answer:
    uvicorn writes it when the app first reads, before any response starts, so it is never held."""
    _, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = b"x" * 5000
    writer.write(b"POST /echo HTTP/1.1\r\nhost: test\r\ncontent-length: 5000\r\nexpect: 100-continue\r\n\r\n")
    assert await head(reader) == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    first, echoed = await response(reader)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and echoed == body
    writer.close()
