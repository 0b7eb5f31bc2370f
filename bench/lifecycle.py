"""Scenario (c): create → process → the `payment_intent.succeeded` webhook arrives here.

A minimal HTTP receiver in this process verifies each delivery's signature
(both schemes, with the project's verifier) and wakes the flow waiting for that
intent. Latency is from sending the create to receiving the webhook.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from bench import scenarios
from bench.loadgen import Connection, RunResult, Step, check, run_closed_loop
from nexus.webhooks.signing import verify

# A flow whose webhook has not arrived after this long counts as failed (dispatcher retries are 5 s apart).
WEBHOOK_WAIT_S = 30.0
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Receiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.early: dict[str, float] = {}
        self.rejected = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                writer.write(OK)
                self._deliver(headers, body)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the sender hung up, or the run is over
        finally:
            writer.close()

    def _deliver(self, headers: dict[str, str], body: bytes) -> None:
        try:
            verify(body, headers, self.secret)
        except Exception:
            self.rejected += 1
            return
        event: dict[str, Any] = json.loads(body)
        if event.get("type") != "payment_intent.succeeded":
            return
        intent_id = event["data"]["object"]["id"]
        future = self.waiting.pop(intent_id, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())
        else:
            self.early[intent_id] = time.perf_counter()


async def run(host: str, port: int, api_key: str, receiver: Receiver, count: int, concurrency: int) -> RunResult:
    connections = [Connection(host, port, api_key) for _ in range(concurrency)]
    nonce = uuid.uuid4().hex[:8]

    def make_step(worker: int) -> Step:
        conn = connections[worker]

        async def step(n: int) -> str | None:
            status, raw = await conn.post(scenarios.body(scenarios.CREATE, {"k": f"{nonce}-c{n}"}))
            if (error := check(status, raw, '"userErrors":[]')) is not None:
                return error
            intent_id = json.loads(raw)["data"]["createPaymentIntent"]["paymentIntent"]["id"]
            future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            receiver.waiting[intent_id] = future
            variables = {"k": f"{nonce}-p{n}", "id": intent_id}
            status, raw = await conn.post(scenarios.body(scenarios.PROCESS, variables))
            if (error := check(status, raw, '"status":"SUCCEEDED"')) is not None:
                return error
            if intent_id in receiver.early:
                receiver.waiting.pop(intent_id, None)
                return None
            try:
                await asyncio.wait_for(future, WEBHOOK_WAIT_S)
            except TimeoutError:
                receiver.waiting.pop(intent_id, None)
                return f"no webhook for {intent_id} within {WEBHOOK_WAIT_S:.0f} s"
            return None

        return step

    try:
        return await run_closed_loop(count, concurrency, make_step)
    finally:
        for conn in connections:
            await conn.close()
