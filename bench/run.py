"""`make bench`: the gateway against its physical limit, every scenario, one command.

    .venv/bin/python -m bench.run [--count 5000] [--warmup 200] [--concurrency 1,8,32,128]
                                  [--scenarios abcde] [--no-scaling] [--target-pairs 5] [--publish]

Starts `nexus serve --workers 2` on a fresh embedded data dir (rate limit off,
bank latency 0, synchronous_commit on), logs the SQL each request sends, then
runs every scenario at every concurrency through wrk (or the Python client),
and the same SQL through asyncpg and pgbench; then (a) at c=32 again as pairs, each
gateway run followed at once by its asyncpg baseline (the target closest to its line).
Writes bench/results/results.json,
report.md and chart.png (`--publish` also copies the chart to bench/chart.png).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench import baseline, fixtures, lifecycle, loadgen, pgbench, report, scenarios, sqltrace, steady_state, wrk
from bench.loadgen import RunResult
from bench.server import Database, Gateway, connections_per_process, cpu_seconds, free_port, postgres_pids
from nexus.crypto import hash_api_key

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
# Requests logged one by one to count statements. A background transaction shape passes for a
# request's only if it runs as often as the requests do (bench/sqltrace.py): 20 makes that a burst of
# 20 polls in the ~0.1 s the requests take (the dispatcher polls about once a second per process).
TRACE_REQUESTS = 20
# Replays (d) are answered ~20x faster than creates: 10x the requests keeps the run over a
# second, long enough for the rate and for CPU readings in 10 ms ticks to mean something.
REPLAY_COUNT_FACTOR = 10
# When to count each API process's connections: after wrk has connected, well before it ends.
PROBE_AFTER_S = 1.0
# The concurrency issue 7's throughput target names for (a).
TARGET_CONCURRENCY = 32
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


@dataclass
class Row:
    scenario: str
    system: str  # gateway | asyncpg | pgbench
    concurrency: int
    requests: int
    seconds: float
    throughput: float
    p50: float
    p99: float
    bad: int
    generator_cpu_ms_per_request: float
    api_cpu_ms_per_request: float = 0.0
    db_cpu_ms_per_request: float = 0.0
    # What PostgreSQL did meanwhile besides the requests: it explains a cell slower than its neighbours.
    checkpoints: int = 0
    autovacuums: int = 0
    wal_kb_per_request: float = 0.0
    note: str = ""


@dataclass
class Results:
    machine: dict[str, str]
    settings: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    traces: dict[str, dict[str, Any]] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    scaling: dict[str, float] = field(default_factory=dict)
    # (a) at c=32 measured again as interleaved pairs, gateway then asyncpg (`_target_pairs`).
    target_pairs: list[dict[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _row(scenario: str, system: str, c: int, r: RunResult, **extra: Any) -> Row:
    per = 1000 / r.requests if r.requests else 0.0
    return Row(
        scenario=scenario,
        system=system,
        concurrency=c,
        requests=r.requests,
        seconds=round(r.seconds, 3),
        throughput=round(r.throughput, 1),
        p50=round(r.percentile(50), 2),
        p99=round(r.percentile(99), 2),
        bad=r.bad,
        generator_cpu_ms_per_request=round(r.generator_cpu_s * per, 3),
        **extra,
    )


def machine_info(dsn: str) -> dict[str, str]:
    def sh(command: str) -> str:
        try:
            return subprocess.run(command, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    async def pg() -> tuple[str, str, str]:
        conn = await asyncpg.connect(dsn)
        try:
            version = await conn.fetchval("SHOW server_version")
            sync = await conn.fetchval("SHOW synchronous_commit")
            fsync = await conn.fetchval("SHOW fsync")
        finally:
            await conn.close()
        return version, sync, fsync

    version, sync, fsync = asyncio.run(pg())
    return {
        "cpu": sh("lscpu | grep -E 'Model name|^CPU\\(s\\)' | sed 's/  */ /g' | paste -sd';'"),
        "memory": sh("free -g | awk '/Mem:/ {print $2 \" GiB\"}'"),
        "kernel": platform.release(),
        "python": platform.python_version(),
        # Which interpreter served: its build (PGO, LTO, shared libpython) differs between machines.
        "python_executable": os.path.realpath(sys.executable),
        "postgresql": version,
        "synchronous_commit": sync,
        "fsync": fsync,
        "wrk": sh("wrk -v 2>&1 | head -1") if wrk.available() else "not installed",
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir = Path(tempfile.mkdtemp(prefix="nexus-bench-"))
        self.db = Database.start(self.data_dir)
        self.gateway: Gateway | None = None
        self.use_wrk = args.generator == "wrk" or (args.generator == "auto" and wrk.available())
        self.results = Results(machine=machine_info(self.db.dsn), settings=vars(args).copy())
        self.results.settings["generator"] = "wrk" if self.use_wrk else "python (asyncio, raw HTTP/1.1)"
        self.split: dict[tuple[str, int], list[int]] = {}

    # -- server ---------------------------------------------------------------------------------
    def start_gateway(self, workers: int) -> Gateway:
        port = free_port()
        say(f"starting nexus serve --workers {workers} on :{port} (data dir {self.data_dir})")
        log = self.data_dir / f"server-{workers}.log"
        self.gateway = Gateway(self.data_dir, workers, port, log, source=Path(self.args.server_source)).start()
        return self.gateway

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None

    # -- one measured run ---------------------------------------------------------------------
    def gateway_run(self, scenario: str, count: int, c: int, key: str, ids: list[str]) -> RunResult:
        gw = self.gateway
        assert gw is not None
        s = scenarios.SCENARIOS[scenario]
        variables = {"a": {"k": "__KEY__"}, "b": {"k": "__KEY__", "id": "__ID__"}, "d": scenarios.REPLAY_KEY_VARIABLES}
        query = {"a": scenarios.CREATE, "b": scenarios.PROCESS, "d": scenarios.CREATE, "e": scenarios.LIST}[scenario]
        template = scenarios.body(query, variables.get(scenario))
        nonce = uuid.uuid4().hex[:10]
        if self.use_wrk:
            return wrk.run(gw.url, template, count, c, nonce, s.expect, key, ids)
        return asyncio.run(loadgen.gateway_run(HOST, gw.port, key, template, count, c, nonce, s.expect, ids))

    def measured(self, scenario: str, c: int, run: Any) -> tuple[RunResult, float, float]:
        """Run and return (result, API CPU s, PostgreSQL CPU s) spent during it."""
        assert self.gateway is not None
        api = self.gateway.api_pids()
        api0, db0 = cpu_seconds(api), self.db_cpu()
        port = self.gateway.port
        probe = threading.Timer(
            PROBE_AFTER_S, lambda: self.split.__setitem__((scenario, c), connections_per_process(port))
        )
        probe.start()
        try:
            result: RunResult = run()
        finally:
            probe.cancel()
        return result, cpu_seconds(api) - api0, self.db_cpu() - db0

    def db_cpu(self) -> float:
        """CPU seconds PostgreSQL's processes (the postmaster and its children) have used so far."""
        return cpu_seconds(postgres_pids(self.db.embedded.pgdata))

    def counters(self) -> tuple[int, int, int]:
        """PostgreSQL's checkpoints, autovacuum/autoanalyze runs and WAL position, now."""

        async def read() -> tuple[int, int, int]:
            conn = await asyncpg.connect(self.db.dsn)
            try:
                checkpoints = await conn.fetchval("SELECT num_timed + num_requested FROM pg_stat_checkpointer")
                vacuums = await conn.fetchval(
                    "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables"
                )
                wal = await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
            finally:
                await conn.close()
            return int(checkpoints), int(vacuums), int(wal)

        return asyncio.run(read())

    def record(
        self,
        scenario: str,
        system: str,
        c: int,
        r: RunResult,
        api_s: float = 0.0,
        db_s: float = 0.0,
        since: tuple[int, int, int] | None = None,
    ) -> None:
        per = 1000 / r.requests if r.requests else 0.0
        checkpoints, vacuums, wal = (0, 0, 0)
        if since is not None:
            now = self.counters()
            checkpoints, vacuums, wal = (now[i] - since[i] for i in range(3))
        row = _row(
            scenario,
            system,
            c,
            r,
            api_cpu_ms_per_request=round(api_s * per, 3),
            db_cpu_ms_per_request=round(db_s * per, 3),
            checkpoints=checkpoints,
            autovacuums=vacuums,
            wal_kb_per_request=round(wal / 1024 / r.requests, 2) if r.requests else 0.0,
        )
        if system.startswith("gateway"):
            row.note = f"connections per API process {self.split.get((scenario, c), [])}"
        self.results.rows.append(row)
        flag = f"  !! {r.bad} bad answers, e.g. {r.bad_sample[:200]}" if r.bad else ""
        during = f"  PG CPU {row.db_cpu_ms_per_request:.2f} ms/req" if db_s else ""
        during += f"  checkpoints {checkpoints}" if checkpoints else ""
        during += f"  autovacuum/analyze {vacuums}" if vacuums else ""
        say(
            f"  ({scenario}) {system:8s} c={c:<3d} {row.throughput:8.1f} req/s  p50 {row.p50:7.2f} ms"
            f"  p99 {row.p99:7.2f} ms  [{row.requests} req]{during}{flag}"
        )
        if r.bad and not self.args.keep_going:
            raise SystemExit(f"bench: scenario ({scenario}) got wrong answers; see {self.data_dir}/server-*.log")


async def _trace_all(bench: Bench, merchant: fixtures.Merchant) -> dict[str, sqltrace.Trace]:
    gw = bench.gateway
    assert gw is not None
    conn = loadgen.Connection(HOST, gw.port, merchant.secret_key)
    ids: list[str] = []

    async def send(query: str, variables: dict[str, str]) -> dict[str, Any]:
        status, raw = await conn.post(scenarios.body(query, variables))
        body: dict[str, Any] = json.loads(raw)
        if status != 200 or body.get("errors"):
            raise RuntimeError(f"trace request failed: {raw[:300]!r}")
        return body

    async def a() -> None:
        for _ in range(TRACE_REQUESTS):
            body = await send(scenarios.CREATE, {"k": uuid.uuid4().hex})
            ids.append(body["data"]["createPaymentIntent"]["paymentIntent"]["id"])

    async def b() -> None:
        for intent_id in ids[-TRACE_REQUESTS:]:
            await send(scenarios.PROCESS, {"k": uuid.uuid4().hex, "id": intent_id})

    async def d() -> None:
        await send(scenarios.CREATE, scenarios.REPLAY_KEY_VARIABLES)  # the stored answer every replay returns
        for _ in range(TRACE_REQUESTS):
            await send(scenarios.CREATE, scenarios.REPLAY_KEY_VARIABLES)

    async def e() -> None:
        for _ in range(TRACE_REQUESTS):
            await send(scenarios.LIST, {})

    traces = {}
    actions = (("a", a), ("b", b), ("d", d), ("e", e))
    try:
        # One untraced round first: what a fresh connection does once (asyncpg's type
        # introspection, statement preparation) is not what a request costs.
        for _, action in actions:
            await action()
        for name, action in actions:
            traces[name] = await sqltrace.trace(bench.db.dsn, bench.db.embedded.pgdata, TRACE_REQUESTS, action)
    finally:
        await conn.close()
    return traces


async def _trace_baseline(bench: Bench, target: baseline.Target, auth: bool) -> dict[str, dict[str, float]]:
    """Statements per request each baseline sends, from the same log (asyncpg's sessions are
    `baseline.APPLICATION_NAME`, pgbench's `pgbench`): they must be what the gateway sends (this
    is how a reset query on every asyncpg pool release was found)."""
    sent: dict[str, dict[str, float]] = {}
    pgdata = bench.db.embedded.pgdata
    for name in baseline.TRANSACTIONS:

        async def pooled(name: str = name) -> None:
            await baseline.run(bench.db.dsn, target, name, TRACE_REQUESTS, 1, auth)

        async def scripted(name: str = name) -> None:
            pgbench.run(bench.db.socket_dir, name, target, TRACE_REQUESTS, 1, auth)

        await pooled()  # untraced: a fresh pool's first statements (type introspection) are not a request's
        trace = await sqltrace.trace(bench.db.dsn, pgdata, TRACE_REQUESTS, pooled, app=baseline.APPLICATION_NAME)
        sent[name] = {"asyncpg": trace.statements_per_request}
        if pgbench.available():
            trace = await sqltrace.trace(bench.db.dsn, pgdata, TRACE_REQUESTS, scripted, app="pgbench")
            sent[name]["pgbench"] = trace.statements_per_request
    return sent


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.generator in ("auto", "wrk") and not wrk.available():
        print(f"bench: {wrk.INSTALL_HINT}.", file=sys.stderr)
        if args.generator == "wrk":
            sys.exit(2)
        print("bench: falling back to the Python client (costs more CPU; numbers are lower).", file=sys.stderr)
    if not pgbench.available():
        sys.exit(f"bench: pgbench not found at {pgbench.PGBENCH}; reinstall with `make install`")
    load = os.getloadavg()
    say(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    if load[0] > 0.5 * (os.cpu_count() or 1):
        say("  note: the machine is busy; numbers will be noisy. Take final numbers on a quiet machine.")
    bench = Bench(args)
    try:
        run_all(bench)
    finally:
        bench.stop_gateway()
        bench.db.stop()
        if not args.keep_data:
            shutil.rmtree(bench.data_dir, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bench.results.machine["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    (out / "results.json").write_text(json.dumps(asdict(bench.results), indent=2))
    report.write(bench.results, out)
    if args.publish:
        shutil.copy(out / "chart.png", HERE / "chart.png")
    say(f"done: {out / 'report.md'}, {out / 'chart.png'}, {out / 'results.json'}")


def run_all(bench: Bench) -> None:
    args = bench.args
    levels = [int(x) for x in args.concurrency.split(",")]
    wanted = [s for s in "abdec" if s in args.scenarios]
    gw = bench.start_gateway(args.workers)
    merchant = asyncio.run(fixtures.signup(HOST, gw.port, "bench gateway merchant"))
    other = asyncio.run(fixtures.signup(HOST, gw.port, "bench baseline merchant"))
    target = baseline.Target(
        key_hash=hash_api_key(merchant.secret_key), merchant_id=other.id, read_merchant_id=merchant.id
    )
    say("logging the SQL of each request (log_statement = all) …")
    traces = asyncio.run(_trace_all(bench, merchant))
    for name, t in traces.items():
        bench.results.traces[name] = {
            "statements_per_request": round(t.statements_per_request, 2),
            "per_request": [[round(n, 2), sql[:160]] for n, sql in t.per_request],
            "background": [[round(n, 2), sql[:160]] for n, sql in t.background],
        }
    auth = any("api_keys." in sql and n >= 0.5 for n, sql in traces["a"].per_request)
    bench.results.settings["baseline_includes_auth_lookup"] = auth
    say(f"  API-key lookup per request: {'yes' if auth else 'no (cached)'}; the baselines do the same")
    asyncio.run(baseline.prepare(bench.db.embedded.url, target))
    baseline_sent = asyncio.run(_trace_baseline(bench, target, auth))
    for name, t in traces.items():
        # (d) sends no SQL, so it has no baselines: they send nothing, as it does.
        sent = baseline_sent.get(name, {"asyncpg": 0.0, "pgbench": 0.0})
        drift = ""
        for system, count in sent.items():
            bench.results.traces[name][f"{system}_statements_per_request"] = round(count, 2)
            if abs(t.statements_per_request - count) >= 0.5:
                drift += f"  !! {system} sends {count:.1f}"
        say(f"  ({name}) {t.statements_per_request:.1f} statements per request (BEGIN/COMMIT included){drift}")

    wal_mb = max(1, round(args.count * steady_state.MB_PER_COUNTED_REQUEST))
    say(f"recycling {wal_mb} MB of WAL segments, as a server that has run through a checkpoint has …")
    wal = asyncio.run(steady_state.recycle_wal(bench.db.dsn, wal_mb, say))
    bench.results.settings["wal_segments_at_start"] = wal.segments
    say(f"  {wal.segments} WAL segments in pg_wal")

    for scenario in wanted:
        say(f"scenario ({scenario}) {scenarios.SCENARIOS[scenario].title}")
        for c in levels:
            if scenario == "c":
                _lifecycle(bench, merchant, c)
                continue
            _cell(bench, merchant, target, scenario, c, auth)
        if scenario == "a" and args.target_pairs:
            _target_pairs(bench, merchant, target, auth)
    assert bench.gateway is not None
    bench.results.peak_rss_mb = {str(pid): round(mb, 1) for pid, mb in bench.gateway.peak_rss_mb().items()}
    say(f"peak RSS per API process (VmHWM): {bench.results.peak_rss_mb} MB")
    if args.scaling and "a" in wanted:
        _scaling(bench, merchant)
    written = asyncio.run(steady_state.wal_position_mb(bench.db.dsn)) - wal.position_mb
    bench.results.settings["wal_written_mb"] = round(written, 1)
    note = "" if written < wal.written_mb else " (more than was recycled: the last cells created segments)"
    say(f"WAL written by the measured runs: {written:.0f} MB{note}")


def _cell(
    bench: Bench, merchant: fixtures.Merchant, target: baseline.Target, scenario: str, c: int, auth: bool
) -> None:
    """One scenario at one concurrency: warm-up, the gateway, then both baselines."""
    args = bench.args
    ids = _ids_for(bench, merchant, scenario, args.count + args.warmup + 2 * c)
    warm, rest = ids[: args.warmup + c], ids[args.warmup + c :]
    count = args.count * (REPLAY_COUNT_FACTOR if scenario == "d" else 1)
    bench.gateway_run(scenario, args.warmup, c, merchant.secret_key, warm)
    since = bench.counters()
    r, api_s, db_s = bench.measured(
        scenario, c, lambda: bench.gateway_run(scenario, count, c, merchant.secret_key, rest)
    )
    bench.record(scenario, "gateway", c, r, api_s, db_s, since=since)
    if scenario not in baseline.TRANSACTIONS:
        return  # no SQL reaches the database for this scenario: nothing for the baselines to run
    # PostgreSQL's CPU per request under each baseline too: the same SQL should cost the server the
    # same whoever sends it (their connection start-ups are included: ~0.01 ms per request at 5,000).
    since, db0 = bench.counters(), bench.db_cpu()
    r = baseline.timed(lambda: baseline.run(bench.db.dsn, target, scenario, args.count, c, auth))
    bench.record(scenario, "asyncpg", c, r, db_s=bench.db_cpu() - db0, since=since)
    since, db0 = bench.counters(), bench.db_cpu()
    r = pgbench.run(bench.db.socket_dir, scenario, target, args.count, c, auth)
    bench.record(scenario, "pgbench", c, r, db_s=bench.db_cpu() - db0, since=since)


def _target_pairs(bench: Bench, merchant: fixtures.Merchant, target: baseline.Target, auth: bool) -> None:
    """(a) at c=32 against the asyncpg baseline, again, as pairs each run back to back.

    Why: it is the target closest to its line (50 %), and one cell of each lasts 1-2 s on a VM
    whose speed moves by ±15 % within a minute: one pair alone can land either side of the
    line by the machine's moment. The pairs, and their median, say where the gateway stands.
    """
    args = bench.args
    c = TARGET_CONCURRENCY
    say(f"(a) at c={c} against the asyncpg baseline: {args.target_pairs} more pairs, back to back")
    for number in range(1, args.target_pairs + 1):
        bench.gateway_run("a", args.warmup, c, merchant.secret_key, [])
        g, api_s, db_s = bench.measured("a", c, lambda: bench.gateway_run("a", args.count, c, merchant.secret_key, []))
        b = baseline.timed(lambda: baseline.run(bench.db.dsn, target, "a", args.count, c, auth))
        ratio = g.throughput / b.throughput if b.throughput else 0.0
        per = 1000 / g.requests if g.requests else 0.0
        bench.results.target_pairs.append(
            {
                "gateway": round(g.throughput, 1),
                "gateway_p99": round(g.percentile(99), 2),
                "api_cpu_ms_per_request": round(api_s * per, 3),
                "db_cpu_ms_per_request": round(db_s * per, 3),
                "asyncpg": round(b.throughput, 1),
                "ratio": round(ratio, 3),
            }
        )
        say(f"  pair {number}: gateway {g.throughput:7.1f} req/s, asyncpg {b.throughput:7.1f} req/s → {ratio:.1%}")
    ratios = sorted(p["ratio"] for p in bench.results.target_pairs)
    say(f"  median of {len(ratios)} pairs: {statistics.median(ratios):.1%} (lowest {ratios[0]:.1%})")


def _ids_for(bench: Bench, merchant: fixtures.Merchant, scenario: str, needed: int) -> list[str]:
    """Scenario (b) processes intents that (a) created; make more through the API if (a) left too few."""
    if scenario != "b":
        return []
    ids = asyncio.run(fixtures.created_intents(bench.db.dsn, merchant.id))
    if len(ids) < needed:
        gw = bench.gateway
        assert gw is not None
        template = scenarios.body(scenarios.CREATE, {"k": "__KEY__"})
        asyncio.run(
            loadgen.gateway_run(
                HOST,
                gw.port,
                merchant.secret_key,
                template,
                needed - len(ids),
                8,
                uuid.uuid4().hex,
                '"userErrors":[]',
                [],
            )
        )
        ids = asyncio.run(fixtures.created_intents(bench.db.dsn, merchant.id))
    return ids[:needed]


def _lifecycle(bench: Bench, merchant: fixtures.Merchant, c: int) -> None:
    gw = bench.gateway
    assert gw is not None
    args = bench.args

    rejected = 0

    async def go() -> RunResult:
        nonlocal rejected
        receiver = lifecycle.Receiver("")
        await receiver.start()
        url = f"http://{HOST}:{receiver.port}/hook"
        endpoint_id, receiver.secret = await fixtures.create_endpoint(
            HOST, gw.port, merchant, url, ["payment_intent.succeeded"]
        )
        try:
            await lifecycle.run(HOST, gw.port, merchant.secret_key, receiver, max(1, args.warmup // 4), c)
            result = await lifecycle.run(HOST, gw.port, merchant.secret_key, receiver, args.count // 4 or 1, c)
            rejected = receiver.rejected
            return result
        finally:
            # Each level has its own receiver: a left-over endpoint would send every later flow's
            # webhook to a closed port too, and its failing retries would load the next level.
            await fixtures.delete_endpoint(HOST, gw.port, merchant, endpoint_id)
            await receiver.stop()

    since = bench.counters()
    result, api_s, db_s = bench.measured("c", c, lambda: asyncio.run(go()))
    if rejected:
        result.bad += rejected
        result.bad_sample = f"{rejected} deliveries failed signature verification"
    bench.record("c", "gateway", c, result, api_s, db_s, since=since)


def _scaling(bench: Bench, merchant: fixtures.Merchant) -> None:
    """(a) at c=32 with one API process, against the two-process run above."""
    args = bench.args
    two = next(
        (r for r in bench.results.rows if r.scenario == "a" and r.system == "gateway" and r.concurrency == 32), None
    )
    if two is None:
        return
    bench.stop_gateway()
    bench.start_gateway(1)
    bench.gateway_run("a", args.warmup, 32, merchant.secret_key, [])
    since = bench.counters()
    r, api_s, db_s = bench.measured("a", 32, lambda: bench.gateway_run("a", args.count, 32, merchant.secret_key, []))
    bench.record("a", "gateway-1w", 32, r, api_s, db_s, since=since)
    one = bench.results.rows[-1]
    bench.results.scaling = {
        "workers_1": one.throughput,
        "workers_2": two.throughput,
        "ratio": round(two.throughput / one.throughput, 2) if one.throughput else 0.0,
    }
    say(f"--workers 2 / --workers 1 on (a) c=32: {bench.results.scaling['ratio']}×")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    # 5,000: at c=32 a create run then lasts ~4 s and its p99 rests on 50 requests. With 2,000 it lasted
    # ~1.3 s and one stall of this shared VM moved the p99 of (a) from 40 to 56 ms between two runs.
    p.add_argument("--count", type=int, default=5000, help="measured requests per scenario and concurrency")
    p.add_argument("--warmup", type=int, default=200, help="requests sent first and not measured")
    p.add_argument("--concurrency", default="1,8,32,128", help="comma-separated concurrency levels")
    p.add_argument("--scenarios", default="abcde", help="which of a b c d e to run")
    p.add_argument("--workers", type=int, default=2, help="API processes of the server under test")
    p.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--no-scaling", dest="scaling", action="store_false", help="skip the --workers 1 run")
    # 5: a median that one disturbed pair cannot move, for ~25 s more (each pair runs 2 x --count requests).
    p.add_argument(
        "--target-pairs", type=int, default=5, help="extra (a) c=32 gateway/asyncpg pairs after (a); 0 skips them"
    )
    p.add_argument("--out", default=str(HERE / "results"), help="where results.json, report.md, chart.png go")
    p.add_argument("--publish", action="store_true", help="also copy the chart to bench/chart.png")
    p.add_argument(
        "--server-source", default=str(HERE.parent), help="checkout whose nexus/ is served (to measure another version)"
    )
    p.add_argument("--keep-going", action="store_true", help="record wrong answers instead of stopping")
    p.add_argument("--keep-data", action="store_true", help="keep the data dir (server logs) afterwards")
    return p


if __name__ == "__main__":
    main()
