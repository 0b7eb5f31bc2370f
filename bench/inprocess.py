"""API CPU per request with no sockets: the full ASGI app called directly, in this process.

    .venv/bin/python -m bench.inprocess [--count 4000] [--rounds 4]

What `make bench` cannot separate: wrk, PostgreSQL and two API processes share 2 cores, so CPU per
request moves ±20 % with the machine. Here one process runs the whole app (middleware, GraphQL,
services, the driver) against the embedded PostgreSQL, and `time.process_time()` counts only its
own CPU. Rounds alternate direct execution on and off (NEXUS_DIRECT_EXECUTION) inside one
process, so drift hits both alike; the medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from starlette.applications import Starlette

from bench import scenarios
from bench.server import SERVER_ENV, Database
from nexus.app import create_app
from nexus.config import Settings
from nexus.db import migrations
from nexus.schema.app import GraphQLApp

SIGNUP = "mutation($i:SignupMerchantInput!){signupMerchant(input:$i){secretKey userErrors{code}}}"
TYPENAME = b'{"query":"{__typename}"}'
# Requests run first and not measured: parse/validation caches, pool, prepared statements.
DEFAULT_WARMUP = 300

Asgi = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


async def call(app: Asgi, body: bytes, key: str | None) -> bytes:
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    chunks: list[bytes] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client never disconnects
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


def create_body() -> bytes:
    return scenarios.body(scenarios.CREATE, {"k": uuid.uuid4().hex}).encode()


async def cpu_ms(app: Asgi, bodies: list[bytes], key: str, expect: bytes) -> float:
    start = time.process_time()
    for body in bodies:
        answer = await call(app, body, key)
    elapsed = time.process_time() - start
    if expect not in answer:
        raise RuntimeError(f"unexpected answer: {answer[:300]!r}")
    return 1000 * elapsed / len(bodies)


def graphql_view(app: Starlette) -> GraphQLApp:
    for route in app.router.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, GraphQLApp):
            return endpoint
    raise RuntimeError("no GraphQL route")


async def measure(url: str, data_dir: Path, count: int, rounds: int, warmup: int) -> dict[str, float]:
    os.environ.update(SERVER_ENV)
    app = create_app(Settings(DATABASE_URL=url, NEXUS_DATA_DIR=data_dir))
    view = graphql_view(app)
    direct = getattr(view, "direct", None)  # None: a checkout from before direct execution
    async with app.router.lifespan_context(app):
        email = f"{uuid.uuid4().hex[:8]}@bench.test"
        signup = json.dumps({"query": SIGNUP, "variables": {"i": {"name": "Bench", "email": email}}}).encode()
        key = json.loads(await call(app, signup, None))["data"]["signupMerchant"]["secretKey"]
        for _ in range(warmup):
            await call(app, create_body(), key)
            await call(app, TYPENAME, key)
        samples: dict[str, list[float]] = {}
        per_round = max(1, count // rounds)
        for round_no in range(rounds):
            print(f"round {round_no + 1}/{rounds}", flush=True)
            for mode in ("direct", "strawberry"):
                view.direct = direct if mode == "direct" else None
                typename = await cpu_ms(app, [TYPENAME] * per_round, key, b'"Query"')
                create = await cpu_ms(app, [create_body() for _ in range(per_round)], key, b'"userErrors":[]')
                samples.setdefault(f"{{__typename}}, {mode}", []).append(typename)
                samples.setdefault(f"createPaymentIntent, {mode}", []).append(create)
        view.direct = direct
        ids = []
        for _ in range(warmup + per_round):
            answer = json.loads(await call(app, create_body(), key))
            ids.append(answer["data"]["createPaymentIntent"]["paymentIntent"]["id"])
        process = [scenarios.body(scenarios.PROCESS, {"id": i, "k": uuid.uuid4().hex}).encode() for i in ids]
        if warmup:
            await cpu_ms(app, process[:warmup], key, b'"SUCCEEDED"')
        samples["processPaymentIntent, direct"] = [await cpu_ms(app, process[warmup:], key, b'"SUCCEEDED"')]
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4000, help="measured requests per kind, over all rounds")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of direct execution on and off")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="unmeasured requests of each kind first")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-inprocess-"))
    db = Database.start(data_dir)
    try:
        migrations.upgrade(db.embedded.url)
        results = uvloop.run(measure(db.embedded.url, data_dir, args.count, args.rounds, args.warmup))
    finally:
        db.stop()
        # Its database (~130 MB) is of no use afterwards: every run, `make test`'s included, left one.
        shutil.rmtree(data_dir, ignore_errors=True)
    print("API CPU per request, one process, no sockets (median of rounds):")
    for name, value in results.items():
        print(f"  {name:40s} {value:.3f} ms")


if __name__ == "__main__":
    main()
