"""The server under test: `nexus serve --workers N` on a fresh embedded data dir.

The harness starts (joins) the embedded PostgreSQL itself first, so the
baselines can reach the very same server through its unix socket; `nexus
serve` then joins it (pgserver keeps a list of holders) instead of starting
another one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from nexus.db.embedded import EmbeddedPostgres, start_embedded

ROOT = Path(__file__).resolve().parent.parent
# A cold start (migrations, two workers importing Strawberry) on a busy 2-core box takes ~10 s.
START_TIMEOUT_S = 60.0
# What issue 7 fixes for the measured server: no rate limit, no simulated bank latency.
SERVER_ENV = {"NEXUS_RATE_LIMIT": "0", "NEXUS_BANK_LATENCY_MS": "0", "NEXUS_LOG_LEVEL": "WARNING"}


@dataclass
class Database:
    embedded: EmbeddedPostgres
    dsn: str  # plain asyncpg DSN of the `nexus` database
    socket_dir: str

    @classmethod
    def start(cls, data_dir: Path) -> Database:
        embedded = start_embedded(data_dir)
        dsn = embedded.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        host = parse_qs(urlsplit(dsn).query).get("host", [""])[0]
        return cls(embedded=embedded, dsn=dsn, socket_dir=host)

    def stop(self) -> None:
        self.embedded.stop()


@dataclass
class Gateway:
    data_dir: Path
    workers: int
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Where `python -m nexus.cli` runs: another checkout measures that version of the product.
    source: Path = ROOT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(SERVER_ENV, NEXUS_DATA_DIR=str(self.data_dir), **self.extra_env)
        command = [sys.executable, "-m", "nexus.cli", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.source, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nexus serve exited during start-up; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200 and self._all_workers_up():
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"nexus serve did not become healthy in {START_TIMEOUT_S:.0f} s; see {self.log_path}")

    def _all_workers_up(self) -> bool:
        return len(self.api_pids()) >= self.workers

    def api_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's workers, or the one process with --workers 1."""
        assert self.proc is not None
        if self.workers == 1:
            return [self.proc.pid]
        return [pid for pid in _children(self.proc.pid) if _is_python(pid)]

    def peak_rss_mb(self) -> dict[int, float]:
        """VmHWM: the kernel's high-water mark of each API process's resident set."""
        return {pid: _status_kb(pid, "VmHWM") / 1024 for pid in self.api_pids()}

    def rss_mb(self) -> float:
        """Resident memory of all API processes now (VmRSS)."""
        return sum(_status_kb(pid, "VmRSS") for pid in self.api_pids()) / 1024

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def _is_python(pid: int) -> bool:
    """A uvicorn worker: a python child that is not multiprocessing's resource tracker."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        return "python" in Path(f"/proc/{pid}/comm").read_text() and b"resource_tracker" not in cmdline
    except OSError:
        return False


def _status_kb(pid: int, name: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """utime+stime of these processes (and their reaped children), from /proc/<pid>/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the comm field: utime, stime, cutime, cstime are fields 12..15 (0-based 11..14).
        total += sum(int(v) for v in fields[11:15]) / ticks
    return total


def postgres_pids(pgdata: Path) -> list[int]:
    """Our postmaster and its children (backends, walwriter…): other servers on the box are not ours."""
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [postmaster, *_children(postmaster)]


def connections_per_process(port: int) -> list[int]:
    """Established client connections each API process holds (uvicorn workers share one
    listening socket, and whoever wakes first accepts the whole burst)."""
    import re
    from collections import Counter

    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted(Counter(re.findall(r"pid=(\d+)", out)).values(), reverse=True)
