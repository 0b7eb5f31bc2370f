"""Benchmark: N concurrent WebSocket subscribers, each watching its own payment intent.

    python -m bench.subscribers [--n 1000] [--workers 1] [--write-readme]

Starts `nexus serve` on a fresh embedded PostgreSQL, creates N intents, opens N
graphql-transport-ws connections (publishable key + clientSecret, like N browsers), each
subscribing to `paymentIntentUpdated` of its own intent, measures the server's memory per
idle subscriber, then processes every intent and measures how long each subscriber waits
for its SUCCEEDED. Not a test: numbers depend on the machine; `--write-readme` records
them in bench/README.md § Subscriptions (that section only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.server import Gateway, free_port
from nexus.db.dsn import asyncpg_dsn
from nexus.db.embedded import start_embedded
from nexus.realtime.broker import CHANNEL

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
SECTION = "## Subscriptions"
# Cold start: embedded PostgreSQL initdb plus migrations on a busy 2-core box.
START_TIMEOUT_S = 90.0
# Concurrent HTTP requests while creating and processing intents. Driving: 4 keeps a 2-core
# server busy (~25 payments/s, each three commits) while leaving it CPU to fan out; at 16 the
# run measures the queue in front of the mutations rather than the subscriptions.
HTTP_CONCURRENCY = 4
# Connections opened at once while subscribing: a burst of 1,000 handshakes would measure
# the accept queue, not subscriptions.
CONNECT_CONCURRENCY = 50
# Let the server settle (allocator, GC) after the last subscription before reading RSS.
IDLE_SETTLE_S = 3.0
# Give up on a subscriber that has not seen SUCCEEDED this long after the last mutation.
RECEIVE_TIMEOUT_S = 60.0
# Attempts per request when the server answers a retryable error (e.g. SERVICE_UNAVAILABLE).
RETRIES = 5
# The target for p99 commit → receive.
TARGET_P99_MS = 250.0

CREATE = """mutation($i: CreatePaymentIntentInput!, $k: String!) {
  createPaymentIntent(input: $i, idempotencyKey: $k) { paymentIntent { id clientSecret } userErrors { code } } }"""
PROCESS = """mutation($i: ProcessPaymentIntentInput!, $k: String!) {
  processPaymentIntent(input: $i, idempotencyKey: $k) { paymentIntent { status } userErrors { code } } }"""
SIGNUP = """mutation($i: SignupMerchantInput!) {
  signupMerchant(input: $i) { secretKey publishableKey userErrors { code } } }"""
SUBSCRIBE = """subscription($id: ID!, $s: String) {
  paymentIntentUpdated(id: $id, clientSecret: $s) { status version updatedAt } }"""
CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2034, "cvc": "123"}


@dataclass
class Watcher:
    intent_id: str
    client_secret: str
    ws: ClientConnection | None = None
    first: asyncio.Event = field(default_factory=asyncio.Event)
    latency_ms: float | None = None
    received_at: float | None = None
    versions: list[int] = field(default_factory=list)


class NotifyClock(threading.Thread):
    """When each commit's NOTIFY reaches a listener of our own: the commit instant, as near as
    a client can observe it. Its own thread and event loop, so the 1,000 sockets of the main
    loop cannot delay the timestamps."""

    def __init__(self, dsn: str) -> None:
        super().__init__(name="notify-clock", daemon=True)
        self.dsn = dsn
        self.times: dict[tuple[str, int], float] = {}
        self.ready = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        await conn.add_listener(CHANNEL, self._record)
        self.ready.set()
        await asyncio.to_thread(self.done.wait)
        await conn.close()

    def _record(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        body = json.loads(payload)
        if body.get("pi") and body.get("v") is not None:
            self.times.setdefault((body["pi"], int(body["v"])), time.time())


async def graphql(http: httpx.AsyncClient, key: str | None, query: str, variables: dict[str, Any]) -> Any:
    """One request; a retryable error is retried as API.md says (same input, same idempotency key)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    for _ in range(RETRIES):
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        body = response.json()
        errors = body.get("errors") or []
        if response.status_code == 200 and not errors:
            return body["data"]
        if not all(e.get("extensions", {}).get("retryable") for e in errors):
            break
        await asyncio.sleep(errors[0]["extensions"].get("retryAfter", 1))
    raise SystemExit(f"request failed (HTTP {response.status_code}): {body.get('errors')}")


async def bounded(concurrency: int, jobs: list[Any], label: str) -> list[Any]:
    """Run coroutines `concurrency` at a time, printing progress every 10 %."""
    semaphore = asyncio.Semaphore(concurrency)
    done = 0
    step = max(1, len(jobs) // 10)

    async def run(job: Any) -> Any:
        nonlocal done
        async with semaphore:
            result = await job
        done += 1
        if done % step == 0 or done == len(jobs):
            print(f"  {label}: {done}/{len(jobs)}", file=sys.stderr, flush=True)
        return result

    return await asyncio.gather(*(run(job) for job in jobs))


async def create_intent(http: httpx.AsyncClient, secret_key: str) -> Watcher:
    data = await graphql(http, secret_key, CREATE, {"i": {"amount": 2000, "currency": "usd"}, "k": uuid.uuid4().hex})
    intent = data["createPaymentIntent"]["paymentIntent"]
    return Watcher(intent["id"], intent["clientSecret"])


async def watch(url: str, key: str, watcher: Watcher, connected: asyncio.Semaphore) -> None:
    """One subscriber: connect, subscribe, then read until SUCCEEDED."""
    async with connected:
        ws = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60)  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}))
        if json.loads(await ws.recv())["type"] != "connection_ack":
            raise SystemExit("the server refused a subscriber's connection_init")
        variables = {"id": watcher.intent_id, "s": watcher.client_secret}
        payload = {"query": SUBSCRIBE, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    watcher.ws = ws
    async for raw in ws:
        received = time.time()
        message = json.loads(raw)
        if message["type"] != "next":
            raise SystemExit(f"subscriber got {message['type']}: {message.get('payload')}")
        intent = message["payload"]["data"]["paymentIntentUpdated"]
        watcher.versions.append(intent["version"])
        watcher.first.set()
        if intent["status"] == "SUCCEEDED":
            # updatedAt is stamped in the committing transaction just before COMMIT, so this is
            # an upper bound of commit → receive (same machine, same clock).
            committed = datetime.fromisoformat(intent["updatedAt"]).timestamp()
            watcher.latency_ms = (received - committed) * 1000
            watcher.received_at = received
            return


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(server: Gateway, n: int, clock: NotifyClock, concurrency: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        signup = {"i": {"name": "Bench Shop", "email": f"{uuid.uuid4().hex[:10]}@bench.test"}}
        keys = (await graphql(http, None, SIGNUP, signup))["signupMerchant"]
        watchers = await bounded(
            HTTP_CONCURRENCY, [create_intent(http, keys["secretKey"]) for _ in range(n)], "intents created"
        )
        await asyncio.sleep(IDLE_SETTLE_S)
        rss_before = server.rss_mb()
        url = server.url.replace("http://", "ws://", 1) + "/graphql"
        connected = asyncio.Semaphore(CONNECT_CONCURRENCY)
        tasks = [asyncio.create_task(watch(url, keys["publishableKey"], w, connected)) for w in watchers]
        await bounded(n, [w.first.wait() for w in watchers], "subscribed (first message)")
        await asyncio.sleep(IDLE_SETTLE_S)
        rss_idle = server.rss_mb()
        gauge = _gauge((await http.get("/metrics")).text, "nexus_realtime_subscribers")

        started = time.monotonic()
        processes = [
            graphql(
                http,
                keys["publishableKey"],
                PROCESS,
                {"i": {"id": w.intent_id, "clientSecret": w.client_secret, "card": CARD}, "k": uuid.uuid4().hex},
            )
            for w in watchers
        ]
        await bounded(concurrency, processes, "intents processed")
        drive_s = time.monotonic() - started
        _, pending = await asyncio.wait(tasks, timeout=RECEIVE_TIMEOUT_S)
        for task in pending:
            task.cancel()
        for w in watchers:
            if w.ws is not None:
                await w.ws.close()
    latencies = [w.latency_ms for w in watchers if w.latency_ms is not None]
    from_notify = [
        (w.received_at - clock.times[(w.intent_id, 3)]) * 1000
        for w in watchers
        if w.received_at is not None and (w.intent_id, 3) in clock.times
    ]
    gapless = sum(1 for w in watchers if w.versions == [1, 2, 3])
    return {
        "n": n,
        "received": len(latencies),
        "gapless": gapless,
        "subscribers_gauge": gauge,
        "p50_ms": percentile(latencies, 0.50) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99) if latencies else float("nan"),
        "max_ms": max(latencies) if latencies else float("nan"),
        "notify_p50_ms": percentile(from_notify, 0.50) if from_notify else float("nan"),
        "notify_p99_ms": percentile(from_notify, 0.99) if from_notify else float("nan"),
        "rss_before_mb": rss_before,
        "rss_idle_mb": rss_idle,
        "kb_per_subscriber": (rss_idle - rss_before) * 1024 / n,
        "drive_s": drive_s,
        "concurrency": concurrency,
    }


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_gb = _status_kb_file(Path("/proc/meminfo"), "MemTotal") / 1024 / 1024
    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, 1-min load average {load:.1f} at the end"
    )


def report(result: dict[str, Any], workers: int) -> str:
    verdict = "meets" if result["p99_ms"] <= TARGET_P99_MS else "misses"
    return "\n".join(
        [
            SECTION,
            "",
            f"`python -m bench.subscribers --n {result['n']} --workers {workers} "
            f"--concurrency {result['concurrency']}` "
            f"({datetime.now().date().isoformat()}; {machine()}; the load generator runs on the same machine).",
            "",
            f"{result['n']} WebSocket subscribers (graphql-transport-ws, publishable key + clientSecret), each on its "
            f"own intent; then every intent is processed ({result['concurrency']} concurrent HTTP clients, "
            f"{result['drive_s']:.1f} s for all) and each subscriber waits for its SUCCEEDED.",
            "",
            "| metric | value |",
            "| --- | --- |",
            f"| subscribers that received SUCCEEDED | {result['received']}/{result['n']} |",
            f"| of those, saw versions 1, 2, 3 with none skipped | {result['gapless']}/{result['n']} |",
            f"| `nexus_realtime_subscribers` while idle | {result['subscribers_gauge']:.0f} |",
            f"| commit → receive p50 | {result['p50_ms']:.1f} ms |",
            f"| commit → receive p99 | {result['p99_ms']:.1f} ms ({verdict} the {TARGET_P99_MS:.0f} ms target) |",
            f"| commit → receive max | {result['max_ms']:.1f} ms |",
            f"| NOTIFY seen by a bystander listener → receive, p50 / p99 | {result['notify_p50_ms']:.1f} ms / "
            f"{result['notify_p99_ms']:.1f} ms |",
            f"| server RSS before / with all subscribers idle | {result['rss_before_mb']:.0f} MB / "
            f"{result['rss_idle_mb']:.0f} MB |",
            f"| memory per idle subscriber (RSS delta / N) | {result['kb_per_subscriber']:.1f} KB |",
            "",
            "Commit → receive is measured from the intent's `updatedAt` (stamped in the committing transaction, "
            "just before COMMIT) to the client's receipt, on one clock: an upper bound. Each SUCCEEDED costs the "
            "server one NOTIFY on its LISTEN connection and one indexed read of the missed versions.",
            "",
        ]
    )


def write_section(text: str) -> None:
    """Replace (or append) only the Subscriptions section: the rest of the file is not ours."""
    current = README.read_text() if README.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + ("\n\n" if current.strip() else "") + text
    README.write_text(updated.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1000, help="subscribers (default 1000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the server (default 1)")
    parser.add_argument("--concurrency", type=int, default=HTTP_CONCURRENCY, help="concurrent mutations while driving")
    parser.add_argument("--write-readme", action="store_true", help="record the results in bench/README.md")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-bench-subs-"))
    # Started here first so our NOTIFY clock can reach it; `nexus serve` joins the same server.
    database = start_embedded(data_dir)
    clock = NotifyClock(asyncpg_dsn(database.url))
    server = Gateway(data_dir, args.workers, free_port(), data_dir / "server.log")
    print(f"starting nexus serve --workers {args.workers} (log: {server.log_path})", file=sys.stderr)
    try:
        server.start()
        clock.start()
        clock.ready.wait(30)
        result = asyncio.run(measure(server, args.n, clock, args.concurrency))
    finally:
        clock.done.set()
        server.stop()
        database.stop()
    text = report(result, args.workers)
    print(text)
    if args.write_readme:
        write_section(text)
        print(f"wrote {README}", file=sys.stderr)
    shutil.rmtree(data_dir, ignore_errors=True)
    if result["received"] != args.n or result["gapless"] != args.n:
        raise SystemExit(f"only {result['received']}/{args.n} subscribers received SUCCEEDED without gaps")


def _gauge(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def _status_kb_file(path: Path, field_name: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
