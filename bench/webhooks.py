"""Webhook delivery benchmark: deliveries per second with 1 and 2 `nexus worker`s, and the lag
from an event's commit to its receipt at a local receiver that answers 200 at once.

    .venv/bin/python -m bench.webhooks [--backlog 2000] [--lag-events 300]

Throughput: a backlog of events is committed first (the trigger writes their
outbox rows), then the workers start; rate = deliveries / (last receipt - first).
Lag: with one worker running, events are committed one by one at a steady
pace and each receipt is matched to its commit time by webhook-id.
Everything (PostgreSQL, workers, receiver, this driver) shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn

from nexus.config import Settings
from nexus.crypto import Cipher
from nexus.db import migrations
from nexus.db.embedded import start_embedded
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.services.webhook_endpoints import create_endpoint

ROOT = Path(__file__).resolve().parent.parent
# Lag events are committed this often: a steady, modest load, so the lag measured
# is the dispatcher's reaction time rather than queueing behind a backlog.
LAG_INTERVAL_S = 0.02
# Waiting for the last deliveries: generous for a loaded 2-core machine.
DRAIN_TIMEOUT_S = 120.0


class Receiver:
    """A bare ASGI app: records (webhook-id, arrival time) and answers 200 at once."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.count = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        headers = dict(scope["headers"])
        self.arrivals.setdefault(headers[b"webhook-id"].decode(), time.perf_counter())
        self.count += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def start(self) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(self, log_level="warning", access_log=False))
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def _workers(n: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    procs = [
        subprocess.Popen([sys.executable, "-m", "nexus.cli", "worker"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        for _ in range(n)
    ]
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(15)


async def _insert_events(dsn: str, merchant: str, count: int) -> list[str]:
    ids = [f"evt_bench{uuid.uuid4().hex[:24]}" for _ in range(count)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO events (id, merchant_id, type, api_version, data)"
            " SELECT id, $2, 'payment_intent.created', '2026-11-28', '{\"object\": {\"id\": \"pi_bench\"}}'::jsonb"
            " FROM unnest($1::text[]) AS id",
            ids,
            merchant,
        )
    finally:
        await conn.close()
    return ids


async def _drain(receiver: Receiver, ids: list[str]) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while not all(i in receiver.arrivals for i in ids):
        if time.monotonic() > deadline:
            missing = sum(1 for i in ids if i not in receiver.arrivals)
            raise SystemExit(f"{missing} deliveries did not arrive within {DRAIN_TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.05)


async def throughput(dsn: str, merchant: str, receiver: Receiver, env: dict[str, str], n: int, backlog: int) -> float:
    ids = await _insert_events(dsn, merchant, backlog)
    procs = _workers(n, env)
    try:
        print(f"  {n} worker(s): delivering a backlog of {backlog} …", file=sys.stderr, flush=True)
        await _drain(receiver, ids)
    finally:
        _stop(procs)
    times = sorted(receiver.arrivals[i] for i in ids)
    return len(ids) / max(times[-1] - times[0], 1e-9)


async def lag(dsn: str, merchant: str, receiver: Receiver, env: dict[str, str], events: int) -> list[float]:
    procs = _workers(1, env)
    await asyncio.sleep(3)  # let the worker start and LISTEN
    committed: dict[str, float] = {}
    try:
        print(f"  lag: {events} events at {1 / LAG_INTERVAL_S:.0f}/s …", file=sys.stderr, flush=True)
        for _ in range(events):
            [event_id] = await _insert_events(dsn, merchant, 1)
            committed[event_id] = time.perf_counter()
            await asyncio.sleep(LAG_INTERVAL_S)
        await _drain(receiver, list(committed))
    finally:
        _stop(procs)
    return sorted((receiver.arrivals[i] - t) * 1000 for i, t in committed.items())


async def measure(url: str, backlog: int, lag_events: int, data_dir: Path) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    master = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(DATABASE_URL=url, NEXUS_MASTER_KEY=master)
    receiver = Receiver()
    hook_url = receiver.start()
    merchant = f"acct_bench{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn)
    await conn.execute("INSERT INTO merchants (id, name, email) VALUES ($1, 'Bench', 'b@bench.test')", merchant)
    await conn.close()
    engine = create_engine(url, settings)
    await create_endpoint(
        create_sessionmaker(engine), Cipher(settings.master_key_bytes()), True, merchant, hook_url, ["*"], None, None
    )
    await engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "NEXUS_MASTER_KEY": master,
        "NEXUS_DATA_DIR": str(data_dir),
        "NEXUS_LOG_LEVEL": "WARNING",
    }
    one = await throughput(dsn, merchant, receiver, env, 1, backlog)
    two = await throughput(dsn, merchant, receiver, env, 2, backlog)
    lags = await lag(dsn, merchant, receiver, env, lag_events)
    print(f"deliveries/s, 1 worker : {one:8.0f}")
    print(f"deliveries/s, 2 workers: {two:8.0f}")
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(f"commit → receipt lag   : p50 {statistics.median(lags):.1f} ms, p99 {p99:.1f} ms ({len(lags)} events)")
    print(f"requests received      : {receiver.count} for {2 * backlog + lag_events} deliveries")


def main(backlog: int, lag_events: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-bench-hooks-"))
    print("starting embedded PostgreSQL and migrating …", file=sys.stderr, flush=True)
    pg = start_embedded(data_dir)
    try:
        migrations.upgrade(pg.url)
        asyncio.run(measure(pg.url, backlog, lag_events, data_dir))
    finally:
        pg.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backlog", type=int, default=2000, help="events per throughput run (default 2000)")
    parser.add_argument("--lag-events", type=int, default=300, help="events for the lag run (default 300)")
    args = parser.parse_args()
    main(args.backlog, args.lag_events)
