"""Flame graphs of the hot requests: py-spy records one API process while wrk drives a scenario.

    .venv/bin/python -m bench.profile [--scenario a] [--count 3000] [--concurrency 8]

Writes bench/results/flame-<scenario>.svg (open in a browser), flame-<scenario>.txt
(collapsed stacks) and flame-<scenario>-top.txt (functions by own and total samples). One API
process (`--workers 1`) so every request lands in the profiled process.
Needs py-spy in the venv: `.venv/bin/pip install py-spy`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

from bench import fixtures, scenarios, wrk
from bench.server import Database, Gateway

HERE = Path(__file__).resolve().parent
PY_SPY = Path(sys.executable).parent / "py-spy"
# Samples per second: py-spy's default; enough for a 10-20 s run to show 1 % functions.
RATE = 100


def top(collapsed: Path, n: int = 25) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        k = int(count)
        samples += k
        own[frames[-1]] += k
        for frame in set(frames):
            total[frame] += k
    lines = [f"{samples} samples", "", "own%  function"]
    lines += [f"{100 * k / samples:5.1f} {f}" for f, k in own.most_common(n)]
    lines += ["", "total%  function"]
    lines += [f"{100 * k / samples:5.1f} {f}" for f, k in total.most_common(n * 2)]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--scenario", default="a", choices=("a", "b", "d", "e"))
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    if not PY_SPY.exists():
        sys.exit(f"bench.profile: py-spy missing: {sys.executable} -m pip install py-spy")
    if not wrk.available():
        sys.exit(f"bench.profile: {wrk.INSTALL_HINT}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-profile-"))
    db = Database.start(data_dir)
    gw = Gateway(data_dir, 1, 8931, data_dir / "server.log").start()
    try:
        merchant = asyncio.run(fixtures.signup("127.0.0.1", gw.port, "profile"))
        ids: list[str] = []
        query = {"a": scenarios.CREATE, "b": scenarios.PROCESS, "d": scenarios.CREATE, "e": scenarios.LIST}
        variables = {"a": {"k": "__KEY__"}, "b": {"k": "__KEY__", "id": "__ID__"}, "d": scenarios.REPLAY_KEY_VARIABLES}
        if args.scenario in "be":
            create = scenarios.body(scenarios.CREATE, {"k": "__KEY__"})
            wrk.run(gw.url, create, args.count + 100, 8, uuid.uuid4().hex, '"userErrors":[]', merchant.secret_key, [])
            ids = asyncio.run(fixtures.created_intents(db.dsn, merchant.id)) if args.scenario == "b" else []
        template = scenarios.body(query[args.scenario], variables.get(args.scenario))
        expect = scenarios.SCENARIOS[args.scenario].expect
        wrk.run(gw.url, template, 100, args.concurrency, uuid.uuid4().hex, expect, merchant.secret_key, ids[:100])
        raw, svg = out / f"flame-{args.scenario}.txt", out / f"flame-{args.scenario}.svg"
        pid = str(gw.api_pids()[0])
        # Two samplers, non-blocking (they never pause the process): the SVG to look at, the
        # collapsed stacks to rank functions by.
        spies = [
            subprocess.Popen(
                [str(PY_SPY), "record", "--nonblocking", "-p", pid, "-r", str(RATE), "-f", fmt, "-o", str(path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for fmt, path in (("raw", raw), ("flamegraph", svg))
        ]
        r = wrk.run(
            gw.url, template, args.count, args.concurrency, uuid.uuid4().hex, expect, merchant.secret_key, ids[100:]
        )
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(60)
        print(f"({args.scenario}) {r.throughput:.0f} req/s under py-spy, p99 {r.percentile(99):.1f} ms, {r.bad} bad")
        summary = top(raw)
        (out / f"flame-{args.scenario}-top.txt").write_text(summary)
        print(summary)
        print(f"flame graph: {svg}")
    finally:
        gw.stop()
        db.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
