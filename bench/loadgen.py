"""A lean asyncio HTTP/1.1 client: keep-alive connections, prebuilt request bytes, no parsing
beyond the status line and Content-Length. Used for the multi-step scenario (c), for
set-up, and for every scenario when wrk is not installed."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


class HttpError(Exception):
    """The server answered something a benchmark request must not get."""


class Connection:
    def __init__(self, host: str, port: int, key: str | None) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {key}\r\n" if key else ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: str, path: str = "/graphql") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = body.encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n{self.auth}"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@dataclass
class RunResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    bad: int
    bad_sample: str = ""
    generator_cpu_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:  # wrk hands over its own percentiles
            return self.extra.get(f"p{p:g}", 0.0)
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


# One unit of work: returns an error description, or None when the answer was right.
Step = Callable[[int], Awaitable[str | None]]


async def run_closed_loop(count: int, concurrency: int, make_step: Callable[[int], Step]) -> RunResult:
    """`concurrency` workers issue `count` units back to back (closed loop, like wrk)."""
    issued = 0
    latencies: list[float] = []
    bad: list[str] = []

    async def worker(index: int) -> None:
        nonlocal issued
        step = make_step(index)
        while issued < count:
            issued += 1
            n = issued
            start = time.perf_counter()
            error = await step(n)
            latencies.append((time.perf_counter() - start) * 1000)
            if error is not None:
                bad.append(error)

    cpu_before = _own_cpu()
    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    seconds = time.perf_counter() - start
    return RunResult(
        requests=len(latencies),
        seconds=seconds,
        latencies_ms=latencies,
        bad=len(bad),
        bad_sample=bad[0][:500] if bad else "",
        generator_cpu_s=_own_cpu() - cpu_before,
    )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check(status: int, body: bytes, expect: str) -> str | None:
    text = body.decode(errors="replace")
    if status != 200 or expect not in text or '"errors"' in text:
        return f"HTTP {status}: {text}"
    return None


async def gateway_run(
    host: str,
    port: int,
    api_key: str,
    template: str,
    count: int,
    concurrency: int,
    nonce: str,
    expect: str,
    ids: list[str],
) -> RunResult:
    """The same requests wrk sends (lua/gateway.lua), from Python: the fallback when wrk is missing."""
    connections = [Connection(host, port, api_key) for _ in range(concurrency)]

    def make_step(worker: int) -> Step:
        conn = connections[worker]

        async def step(n: int) -> str | None:
            body = template.replace("__KEY__", f"{nonce}-{n}")
            if ids:
                body = body.replace("__ID__", ids[(n - 1) % len(ids)])
            status, answer = await conn.post(body)
            return check(status, answer, expect)

        return step

    try:
        return await run_closed_loop(count, concurrency, make_step)
    finally:
        for conn in connections:
            await conn.close()
