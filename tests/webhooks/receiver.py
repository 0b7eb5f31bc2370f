"""A real HTTP webhook receiver for tests: uvicorn on a loopback port in a thread.

Each endpoint is a path `/<name>`; a test scripts what it answers (status,
headers, a delay before answering) and reads back every request it got.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

# Generous for a loopback server starting in a thread, yet a hung start fails fast.
STARTUP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (slow or timing-out receivers)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    name: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Answer]] = defaultdict(deque)
        self._defaults: dict[str, Answer] = {}
        self._received: list[Received] = []
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def endpoint(self, name: str, *script: Answer, default: Answer | None = None) -> str:
        """The URL of endpoint `name`, answering `script` in order, then `default` (200)."""
        with self._lock:
            self._scripts[name] = deque(script)
            self._defaults[name] = default or Answer()
        return f"{self.url}/{name}"

    def set_default(self, name: str, answer: Answer) -> None:
        with self._lock:
            self._defaults[name] = answer

    def received(self, name: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.name == name]

    async def wait_for(self, name: str, count: int, within: float = 20.0) -> list[Received]:
        """At least `count` requests to `name`; fails after `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            got = self.received(name)
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: expected {count} deliveries, got {len(got)}")
            await asyncio.sleep(0.05)

    async def _handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            body = await request.body()
        except ClientDisconnect:
            # The sender died mid-body (a chaos test kills the API): nothing was received, and
            # the dispatcher resends it later. Not an error of this receiver.
            return Response(status_code=499)
        with self._lock:
            self._received.append(
                Received(name, {k.lower(): v for k, v in request.headers.items()}, body, time.monotonic())
            )
            script = self._scripts[name]
            answer = script.popleft() if script else self._defaults.get(name, Answer())
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return Response(f"answer {answer.status}", status_code=answer.status, headers=answer.headers)

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/{name}", self._handle, methods=["POST"])])
        # Bind port 0 ourselves and hand the socket to uvicorn: no race for a free port.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("webhook receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=STARTUP_TIMEOUT_S)
