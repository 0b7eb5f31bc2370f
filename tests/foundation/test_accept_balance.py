"""`nexus serve --workers 2` splits a burst of keep-alive connections evenly, and a stopped
worker holds no connection back (nexus.accept_balance)."""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus.accept_balance import _SLOT, MAX_DEFER_S, PUBLISH_S, Share, shared_counts, should_accept
from tests.conftest import ServerProcess

BURST = 32  # the benchmark's concurrency
ROUNDS = 3  # an unbalanced accept splits a burst unevenly in most rounds; three even ones is no luck
GUARD_S = 10.0


def test_the_least_loaded_worker_takes_the_connection() -> None:
    assert should_accept(3, [], 0.0)  # alone
    assert should_accept(3, [3, 4], 0.0)  # a tie is ours
    assert not should_accept(4, [3], 0.0)  # a peer holds fewer: step back
    assert not should_accept(4, [3], MAX_DEFER_S / 2)
    assert should_accept(4, [3], MAX_DEFER_S)  # …but never wait on it longer than this


def test_workers_see_each_other_through_the_shared_file() -> None:
    with shared_counts() as path:
        a, b = Share(str(path)), Share(str(path))
        a.publish(3)
        b.publish(5)
        assert (a.others(), b.others()) == ([5], [3])
        b.release()
        assert a.others() == []
        # A worker that stopped refreshing its slot (killed) is not waited for.
        c = Share(str(path))  # takes the released slot
        _SLOT.pack_into(c._map, c._slot * _SLOT.size, 12345, 0, time.monotonic_ns() - 3_000_000_000)
        assert a.others() == []
    assert not path.exists()


@pytest.fixture(scope="module")
def two_workers(database_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, workers=2).start()
    try:
        wait_for_both_workers(server.port)
        yield server
    finally:
        server.stop()


def wait_for_both_workers(port: int) -> None:
    """/healthz answers as soon as one worker is up; the other may still be starting (and
    until it is, the first rightly takes every connection)."""
    deadline = time.monotonic() + GUARD_S
    while True:
        socks = burst(port, 4)
        serving = len(connections_per_pid(port))
        for s in socks:
            s.close()
        wait_for_no_connections(port)
        if serving == 2:
            return
        assert time.monotonic() < deadline, "the second worker never started serving"
        time.sleep(0.1)


def burst(port: int, n: int) -> list[socket.socket]:
    """n connections opened at once (non-blocking connects, as a load generator does), each
    answered once, so every one of them has been accepted by some worker."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    select.select([], socks, [], GUARD_S)
    for s in socks:
        s.setblocking(True)
        s.settimeout(GUARD_S)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    for s in socks:
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
    return socks


def connections_per_pid(port: int) -> Counter[int]:
    """Established connections on the server's port, per process holding them (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    counts: Counter[int] = Counter()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        except OSError:
            continue  # gone, or not ours to read
        counts[int(proc.name)] += sum(1 for link in links if link in inodes)
    return +counts  # drop the zeros


def wait_for_no_connections(port: int) -> None:
    deadline = time.monotonic() + GUARD_S
    while connections_per_pid(port):
        assert time.monotonic() < deadline, "connections stayed open after the client closed them"
        time.sleep(0.05)
    time.sleep(2 * PUBLISH_S)  # the workers publish their counts this often


def test_a_burst_of_keep_alive_connections_is_split_evenly(two_workers: ServerProcess) -> None:
    for _ in range(ROUNDS):
        socks = burst(two_workers.port, BURST)
        try:
            split = sorted(connections_per_pid(two_workers.port).values())
            assert len(split) == 2 and split[1] - split[0] <= 2, split
        finally:
            for s in socks:
                s.close()
        wait_for_no_connections(two_workers.port)


def test_a_stopped_worker_holds_no_connection_back(two_workers: ServerProcess) -> None:
    socks = burst(two_workers.port, 4)
    workers = list(connections_per_pid(two_workers.port))
    for s in socks:
        s.close()
    wait_for_no_connections(two_workers.port)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGSTOP)
    try:
        socks = burst(two_workers.port, 8)  # the running worker answers them all
        assert set(connections_per_pid(two_workers.port)) == {workers[1]}
        for s in socks:
            s.close()
    finally:
        os.kill(workers[0], signal.SIGCONT)
    wait_for_no_connections(two_workers.port)
