"""`nexus serve --workers N`: new connections go to the worker holding the fewest.

uvicorn's workers share one listening socket, and each accepts every pending connection
when it wakes. A client that opens its keep-alive connections in a burst (a load
balancer's pool, a benchmark) lands most of them on whichever worker woke first: splits
such as 28 to 4 were measured, and that worker's event loop then carries most of the
load while the other idles (bench/README.md, fix 29).

Here each worker accepts one connection per wake-up, and only while it holds no more
open connections than any other live worker; otherwise it steps back for DEFER_S and
lets a less-loaded worker (woken by the same readiness) take it. The counts are shared
through a small memory-mapped file the supervisor creates. A worker never waits more
than MAX_DEFER_S for a peer, so a stalled or dead worker cannot hold connections back.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import select
import socket
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("nexus.serve")

# The supervisor puts the shared file's path here; workers started without it accept as uvicorn does.
SHARE_ENV = "NEXUS_ACCEPT_SHARE"
# Slots in the shared file: more than any worker count on one machine.
SLOTS = 64
_SLOT = struct.Struct("qqq")  # pid, open connections, heartbeat (CLOCK_MONOTONIC ns)
# How long a worker steps back from a connection a less-loaded peer should take: the peer
# was woken by the same readiness and needs one pass of its event loop to accept.
DEFER_S = 0.002
# After this long a worker takes the connection anyway: a peer busy or stopped for 50 ms
# is not coming, and a new connection should not wait longer than that for it.
MAX_DEFER_S = 0.05
# A worker republishes its count this often, since connections close between accepts: a
# count up to this old makes a peer step back when it need not (costing DEFER_S), and 20
# wake-ups a second cost an idle worker nothing measurable. A slot not refreshed for
# STALE_S belongs to a worker that is gone.
PUBLISH_S = 0.05
STALE_S = 2.0
# After accept() fails for lack of resources (EMFILE, ENOBUFS), wait like asyncio does.
ACCEPT_RETRY_S = 1.0


def should_accept(mine: int, others: list[int], deferred_s: float) -> bool:
    """Take the connection if no live peer holds fewer, or if we already waited long enough."""
    return not others or mine <= min(others) or deferred_s >= MAX_DEFER_S


@contextlib.contextmanager
def shared_counts() -> Iterator[Path]:
    """The supervisor's side: a zeroed slot file, named in SHARE_ENV for the workers it starts."""
    fd, name = tempfile.mkstemp(prefix="nexus-accept-")
    try:
        os.write(fd, bytes(_SLOT.size * SLOTS))
        os.close(fd)
        os.environ[SHARE_ENV] = name
        yield Path(name)
    finally:
        os.environ.pop(SHARE_ENV, None)
        with contextlib.suppress(OSError):
            os.unlink(name)


class Share:
    """One worker's view of the slot file: its own slot to write, the others to read."""

    def __init__(self, path: str) -> None:
        with open(path, "r+b") as file:
            self._map = mmap.mmap(file.fileno(), _SLOT.size * SLOTS)
            fcntl.flock(file, fcntl.LOCK_EX)  # two workers starting together must not claim one slot
            try:
                self._slot = self._claim()
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)

    def _claim(self) -> int:
        now = time.monotonic_ns()
        for slot in range(SLOTS):
            pid, _, beat = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if pid == 0 or now - beat > STALE_S * 1e9:
                self.publish(0, slot)
                return slot
        raise RuntimeError(f"more than {SLOTS} workers share one listening socket")

    def publish(self, connections: int, slot: int | None = None) -> None:
        at = self._slot if slot is None else slot
        _SLOT.pack_into(self._map, at * _SLOT.size, os.getpid(), connections, time.monotonic_ns())

    def release(self) -> None:
        """This worker no longer accepts: peers stop counting it at once."""
        _SLOT.pack_into(self._map, self._slot * _SLOT.size, 0, 0, 0)

    def others(self) -> list[int]:
        now, counts = time.monotonic_ns(), []
        for slot in range(SLOTS):
            if slot == self._slot:
                continue
            pid, connections, beat = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if pid and now - beat <= STALE_S * 1e9:
                counts.append(connections)
        return counts


class BalancedListener:
    """Serves one listening socket on a loop, in place of the loop's own server (uvicorn calls
    only close() and wait_closed() on it)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        share: Share,
        ssl: Any = None,
        backlog: int = 100,  # asyncio's default; uvicorn passes its own (2048)
    ) -> None:
        self._loop, self._sock, self._share, self._ssl = loop, sock, share, ssl
        self._factory = protocol_factory
        self._fd = sock.fileno()
        self._open: set[Any] | None = None  # uvicorn's set of this worker's open connections
        self._connecting: set[asyncio.Task[None]] = set()
        self._deferred_since: float | None = None
        self._resume: asyncio.TimerHandle | None = None
        sock.setblocking(False)
        sock.listen(backlog)  # as the loop's own server would: the supervisor only bound it
        self._serving = True
        loop.add_reader(self._fd, self._on_readable)
        self._publisher = loop.call_later(PUBLISH_S, self._republish)

    def _count(self) -> int:
        return (len(self._open) if self._open is not None else 0) + len(self._connecting)

    def _protocol(self) -> asyncio.BaseProtocol:
        protocol = self._factory()
        if self._open is None:
            # uvicorn's HTTP and WebSocket protocols add themselves to this set while open.
            self._open = getattr(protocol, "connections", None)
        return protocol

    def _republish(self) -> None:
        if self._serving:
            self._share.publish(self._count())
            self._publisher = self._loop.call_later(PUBLISH_S, self._republish)

    def _on_readable(self) -> None:
        now = time.monotonic()
        mine = self._count()
        self._share.publish(mine)
        deferred = 0.0 if self._deferred_since is None else now - self._deferred_since
        if not should_accept(mine, self._share.others(), deferred):
            if self._deferred_since is None:
                self._deferred_since = now
            self._pause(DEFER_S)
            return
        self._deferred_since = None
        self._accept_one()

    def _pause(self, delay: float) -> None:
        self._loop.remove_reader(self._fd)
        self._resume = self._loop.call_later(delay, self._resume_reading)

    def _resume_reading(self) -> None:
        self._resume = None
        if not self._serving:
            return
        if not select.select([self._fd], [], [], 0)[0]:
            self._deferred_since = None  # a peer took what we stepped back from
        self._loop.add_reader(self._fd, self._on_readable)

    def _accept_one(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return  # a peer took it first
        except OSError as error:  # out of file descriptors or buffers: let some close first
            log.warning("accept failed (%s); pausing %.0f s", error.strerror or type(error).__name__, ACCEPT_RETRY_S)
            self._pause(ACCEPT_RETRY_S)
            return
        conn.setblocking(False)
        task = self._loop.create_task(self._connect(conn))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)
        self._share.publish(self._count())

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._protocol, conn, ssl=self._ssl)
        except (OSError, asyncio.CancelledError):
            conn.close()  # the client left before we were set up: nothing to serve

    def close(self) -> None:
        if not self._serving:
            return
        self._serving = False
        self._loop.remove_reader(self._fd)
        self._publisher.cancel()
        if self._resume is not None:
            self._resume.cancel()
        self._share.release()

    async def wait_closed(self) -> None:
        return None


def balanced(base: type[asyncio.AbstractEventLoop]) -> type[asyncio.AbstractEventLoop]:
    """`base` whose create_server(sock=…) serves through a BalancedListener when SHARE_ENV is set."""

    class BalancedLoop(base):  # type: ignore[valid-type,misc]
        _share: Share | None = None

        async def create_server(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
            sock = kwargs.get("sock")
            path = os.environ.get(SHARE_ENV)
            if sock is None or not path or args:
                return await super().create_server(protocol_factory, *args, **kwargs)
            if BalancedLoop._share is None:
                BalancedLoop._share = Share(path)
            return BalancedListener(
                self,
                sock,
                protocol_factory,
                BalancedLoop._share,
                ssl=kwargs.get("ssl"),
                backlog=kwargs.get("backlog", 100),
            )

    return BalancedLoop


def _base_loop() -> type[asyncio.AbstractEventLoop]:
    try:
        import uvloop  # uvicorn[standard]'s loop, where the platform has it
    except ImportError:  # pragma: no cover - platforms without uvloop
        return asyncio.SelectorEventLoop
    loop_class: type[asyncio.AbstractEventLoop] = uvloop.Loop
    return loop_class


# uvicorn's `loop=` setting takes this import path as its loop factory.
BalancedEventLoop = balanced(_base_loop())
LOOP = "nexus.accept_balance:BalancedEventLoop"
