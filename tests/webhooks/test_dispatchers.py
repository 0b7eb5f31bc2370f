"""Several dispatchers on one database: each delivery sent once; a SIGKILLed one loses nothing.

The API server here runs no dispatcher; `nexus worker` processes do all the sending.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.flows import create_intent, process_intent
from tests.conftest import LOG_DIR, ROOT, ServerProcess
from tests.webhooks.conftest import HOOK_ENV, new_database, signup
from tests.webhooks.flows import create_endpoint, deliveries, events, name, wait_until
from tests.webhooks.receiver import Answer, Receiver

# A worker migrates (a no-op here) and starts its loops in a second or two; 30 s absorbs a loaded machine.
WORKER_START_S = 30.0
INTENTS = 12


class WorkerProcess:
    """A `nexus worker` subprocess."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.log_path = Path(tempfile.mkstemp(prefix="nexus-worker-", suffix=".log", dir=LOG_DIR)[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nexus.cli", "worker"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + WORKER_START_S
        while "webhook dispatcher started" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


@pytest.fixture(scope="module")
def quiet_db(server_url: str) -> str:
    return new_database(server_url)


@pytest.fixture(scope="module")
def api(quiet_db: str) -> Iterator[ServerProcess]:
    server = ServerProcess(quiet_db, env={**HOOK_ENV, "NEXUS_RUN_DISPATCHER": "false"}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workers(api: ServerProcess) -> Iterator[list[WorkerProcess]]:
    """Start workers with `workers.append(WorkerProcess(api.env).start())`; all are stopped after the test."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
async def merchant_client(api: ServerProcess) -> AsyncIterator[Any]:
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
        yield (await signup(http))["client"]


async def _all_delivered(client: Any, receiver: Receiver, path: str) -> tuple[set[str], Counter[str]]:
    nodes = await wait_until(client, lambda n: bool(n) and all(d["status"] == "succeeded" for d in deliveries(n)))
    counts = Counter(r.webhook_id for r in receiver.received(path))
    return {node["id"] for node in nodes}, counts


async def test_two_dispatchers_send_each_delivery_once(
    api: ServerProcess, workers: list[WorkerProcess], merchant_client: Any, receiver: Receiver
) -> None:
    workers.extend([WorkerProcess(api.env).start(), WorkerProcess(api.env).start()])
    path = name()
    await create_endpoint(merchant_client, receiver.endpoint(path))

    async def pay() -> None:
        intent = await create_intent(merchant_client)
        await process_intent(merchant_client, intent["id"])

    await asyncio.gather(*(pay() for _ in range(INTENTS)))
    event_ids, counts = await _all_delivered(merchant_client, receiver, path)
    assert len(event_ids) == 3 * INTENTS  # created, processing, succeeded
    assert set(counts) == event_ids
    assert [webhook_id for webhook_id, n in counts.items() if n > 1] == []
    assert all(w.proc is not None and w.proc.poll() is None for w in workers)


async def test_a_dispatcher_killed_mid_batch_loses_nothing(
    api: ServerProcess, workers: list[WorkerProcess], merchant_client: Any, receiver: Receiver
) -> None:
    path = name()
    # Slow answers (within the 2 s timeout) keep the first worker's batch in flight when it dies.
    await create_endpoint(merchant_client, receiver.endpoint(path, default=Answer(200, delay=1.0)))
    for _ in range(INTENTS):
        await create_intent(merchant_client)
    first = WorkerProcess(api.env).start()
    workers.append(first)
    await receiver.wait_for(path, 1)
    first.kill()
    # Let the receiver finish reading what the dead worker had already sent.
    await asyncio.sleep(0.5)
    in_flight = {r.webhook_id for r in receiver.received(path)}

    workers.append(WorkerProcess(api.env).start())
    event_ids, counts = await _all_delivered(merchant_client, receiver, path)
    assert len(event_ids) == INTENTS and set(counts) == event_ids
    # Only what the killed worker had in flight may arrive twice (its leases ran out, it was re-sent).
    resent = {webhook_id for webhook_id, n in counts.items() if n > 1}
    assert resent and resent <= in_flight
    assert max(counts.values()) == 2
    [event] = [n for n in await events(merchant_client) if n["id"] in resent][:1]
    [delivery] = event["deliveries"]
    assert delivery["status"] == "succeeded"


def test_worker_stops_cleanly_on_sigterm(api: ServerProcess) -> None:
    worker = WorkerProcess(api.env).start()
    assert worker.stop() == 0
    assert "Traceback" not in worker.log()
