"""`nexus serve` with the embedded PostgreSQL: start, health, data kept across restarts,
graceful SIGTERM/Ctrl-C with no `postgres` left behind, two processes on one data dir."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import ROOT, free_port

# API.md: exit within 10 s of SIGTERM; the margin covers a loaded CI machine's process teardown.
EXIT_BUDGET_S = 10.0
# multiprocessing's resource tracker (a child of `serve --workers N`) exits by itself once the
# supervisor and the workers have closed its pipe: a moment after they are gone, not with them.
# A worker left behind would still be running after this.
CHILDREN_EXIT_S = 5.0
START_TIMEOUT_S = 60.0


class Serve:
    def __init__(self, data_dir: Path, workers: int = 1, **env: str) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") and k != "DATABASE_URL"}
        self.env = {**clean, "NEXUS_DATA_DIR": str(data_dir), "NEXUS_RATE_LIMIT": "0", **env}
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Serve:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nexus.cli", "serve", "--port", str(self.port), "--workers", str(self.workers)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not healthy in time:\n{self.log.read_text()}")

    def signal(self, signum: int) -> float:
        """Send a signal and return how long the process took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signum)
        try:
            self.proc.wait(EXIT_BUDGET_S + 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return time.monotonic() - started

    def gql(self, query: str, key: str | None = None, **variables: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=("name", "cmdline")):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and any(str(pgdata) in part for part in cmdline):
            found.append(proc)
    return found


def wait_no_postgres(pgdata: Path, timeout: float = 10.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = postgres_processes(pgdata)
        if not left:
            return []
        time.sleep(0.2)
    return postgres_processes(pgdata)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    for proc in postgres_processes((path / "pgdata").resolve()):
        proc.kill()


SIGNUP = 'mutation { signupMerchant(input: {name: "Life", email: "life@x.test"}) { merchant { id } secretKey } }'


def test_sigterm_stops_cleanly_and_data_survives_restart(data_dir: Path) -> None:
    server = Serve(data_dir).start()
    pgdata = (data_dir / "pgdata").resolve()
    assert postgres_processes(pgdata), "the embedded PostgreSQL should be running"
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}
    signup = server.gql(SIGNUP)["data"]["signupMerchant"]
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "nexus_http_requests_total" in metrics and "nexus_http_request_duration_seconds_bucket" in metrics

    took = server.signal(signal.SIGTERM)
    assert took < EXIT_BUDGET_S
    assert wait_no_postgres(pgdata) == []

    again = Serve(data_dir).start()
    me = again.gql("{ me { id email } }", key=signup["secretKey"])
    assert me["data"]["me"]["id"] == signup["merchant"]["id"]
    took = again.signal(signal.SIGINT)
    assert took < EXIT_BUDGET_S
    assert wait_no_postgres(pgdata) == []


def test_two_workers_stop_cleanly(data_dir: Path) -> None:
    server = Serve(data_dir, workers=2).start()
    signup = server.gql(SIGNUP)["data"]["signupMerchant"]
    # Both workers answer (connections are spread by the kernel); each sees the same database.
    for _ in range(6):
        assert server.gql("{ me { id } }", key=signup["secretKey"])["data"]["me"]["id"] == signup["merchant"]["id"]
    assert server.proc is not None
    children = psutil.Process(server.proc.pid).children(recursive=True)
    took = server.signal(signal.SIGTERM)
    assert took < EXIT_BUDGET_S
    assert wait_no_postgres((data_dir / "pgdata").resolve()) == []
    _, alive = psutil.wait_procs(children, timeout=CHILDREN_EXIT_S)
    assert not [c for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_two_processes_share_one_data_dir(data_dir: Path) -> None:
    first = Serve(data_dir).start()
    second = Serve(data_dir).start()
    pgdata = (data_dir / "pgdata").resolve()
    signup = first.gql(SIGNUP)["data"]["signupMerchant"]
    assert second.gql("{ me { id } }", key=signup["secretKey"])["data"]["me"]["id"] == signup["merchant"]["id"]

    first.signal(signal.SIGTERM)
    # The second still holds the server: it keeps answering.
    assert second.gql("{ me { id } }", key=signup["secretKey"])["data"]["me"]["id"] == signup["merchant"]["id"]
    second.signal(signal.SIGTERM)
    assert wait_no_postgres(pgdata) == []


def test_in_flight_request_finishes_on_sigterm(data_dir: Path) -> None:
    server = Serve(data_dir, NEXUS_BANK_LATENCY_MS="1500").start()
    key = server.gql(SIGNUP)["data"]["signupMerchant"]["secretKey"]
    created = server.gql(
        'mutation { createPaymentIntent(input: {amount: 1000, currency: "usd"}, idempotencyKey: "g1") '
        "{ paymentIntent { id } } }",
        key=key,
    )["data"]["createPaymentIntent"]["paymentIntent"]["id"]
    result: dict[str, Any] = {}

    def pay() -> None:
        result["body"] = server.gql(
            'mutation($id: ID!) { processPaymentIntent(input: {id: $id, card: {number: "4242424242424242", '
            'expMonth: 12, expYear: 2034, cvc: "123"}}, idempotencyKey: "g2") { paymentIntent { status } } }',
            key=key,
            id=created,
        )

    thread = threading.Thread(target=pay)
    thread.start()
    time.sleep(0.5)  # the request is now waiting on the simulated bank
    took = server.signal(signal.SIGTERM)
    thread.join(5)
    assert result["body"]["data"]["processPaymentIntent"]["paymentIntent"]["status"] == "SUCCEEDED"
    assert took < EXIT_BUDGET_S
    assert wait_no_postgres((data_dir / "pgdata").resolve()) == []


def test_responses_carry_a_request_id(live_server: Any) -> None:
    response = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-Id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    generated = httpx.get(f"{live_server.url}/healthz").headers["x-request-id"]
    assert len(generated) == 32


def test_generated_request_ids_differ_and_requests_are_counted(live_server: Any) -> None:
    def counted() -> float:
        text = httpx.get(f"{live_server.url}/metrics").text
        found = re.search(r'^nexus_http_requests_total\{method="GET",path="/healthz",status="200"\} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    before = counted()
    ids = {httpx.get(f"{live_server.url}/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert counted() - before == 20
