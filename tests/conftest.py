"""Shared fixtures: a real embedded PostgreSQL built by the migrations, and a live server.

One PostgreSQL per test session, one fresh database in it, schema built by
`alembic upgrade head`. Tests isolate themselves by signing up their own
merchant (every query is merchant-scoped), so no truncation is needed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from nexus.config import normalize_database_url
from nexus.db import migrations
from nexus.db.embedded import EmbeddedPostgres, start_embedded

ROOT = Path(__file__).resolve().parent.parent
# Long enough for a cold start of the app process on a loaded 2-core machine.
SERVER_START_TIMEOUT_S = 30.0
# The logs of the servers and workers this session starts: removed when the session passes, kept
# (and named at the end) when it fails. Each run used to leave ~40 log files in the temp dir for good.
LOG_DIR = Path(tempfile.mkdtemp(prefix="nexus-test-logs-"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0:
        shutil.rmtree(LOG_DIR, ignore_errors=True)
    else:
        print(f"\nlogs of the servers and workers this session started: {LOG_DIR}", file=sys.stderr)


@pytest.fixture(scope="session")
def embedded_pg() -> Iterator[EmbeddedPostgres]:
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-test-"))
    pg = start_embedded(data_dir)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _admin_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def server_url(request: pytest.FixtureRequest) -> str:
    """The PostgreSQL server tests create their databases on: DATABASE_URL when set, else embedded."""
    external = os.environ.get("DATABASE_URL")
    if external:
        return normalize_database_url(external)
    pg: EmbeddedPostgres = request.getfixturevalue("embedded_pg")
    return pg.url


def create_database(server_url: str, prefix: str = "nexus_test") -> str:
    """A new empty database on the server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(_admin_dsn(server_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return with_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """A fresh database built only by the migrations."""
    url = create_database(server_url)
    migrations.upgrade(url)
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`nexus serve`-equivalent uvicorn subprocess on the test database."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="nexus-server-", suffix=".log", dir=LOG_DIR)[1])
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "NEXUS_DATA_DIR": str(Path(tempfile.gettempdir()) / "nexus-test-data"),
            "NEXUS_RATE_LIMIT": "0",
            "NEXUS_LOG_LEVEL": "INFO",
            **(env or {}),
        }
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nexus.cli", "serve", "--port", str(self.port), "--workers", str(self.workers)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url).start()
    try:
        yield server
    finally:
        server.stop()


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, key: str | None = None) -> None:
        self.http = http
        self.key = key

    async def raw(self, query: str, variables: dict[str, Any] | None = None, key: str | None = None) -> dict[str, Any]:
        headers = {}
        token = key if key is not None else self.key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None, key: str | None = None) -> Any:
        body = await self.raw(query, variables, key)
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture
async def http(live_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        yield client


SIGNUP = """
mutation($input: SignupMerchantInput!, $key: String) {
  signupMerchant(input: $input, idempotencyKey: $key) {
    merchant { id name email } secretKey publishableKey idempotentReplayed userErrors { code field message }
  }
}"""


@pytest.fixture
async def merchant(http: httpx.AsyncClient) -> dict[str, Any]:
    """A fresh merchant: {id, secretKey, publishableKey, client (secret key)}."""
    client = GraphQLClient(http)
    data = await client.data(SIGNUP, {"input": {"name": "Test Shop", "email": f"{uuid.uuid4().hex[:8]}@shop.test"}})
    payload = data["signupMerchant"]
    return {
        "id": payload["merchant"]["id"],
        "secretKey": payload["secretKey"],
        "publishableKey": payload["publishableKey"],
        "client": GraphQLClient(http, payload["secretKey"]),
        "public": GraphQLClient(http, payload["publishableKey"]),
    }
