"""Drive wrk (Debian's `wrk` package) with lua/gateway.lua and read its results."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from bench.loadgen import RunResult

LUA = Path(__file__).parent / "lua" / "gateway.lua"
# Upper bound only: the script stops each thread after its fixed count of responses.
MAX_DURATION = "600s"
# A create under heavy overload queues for seconds; count it as slow, not as a timeout error.
TIMEOUT = "30s"
# One wrk thread per core: the box has 2, and wrk needs connections >= threads.
MAX_THREADS = 2
INSTALL_HINT = "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`"


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str, template: str, count: int, concurrency: int, nonce: str, expect: str, api_key: str, ids: list[str]
) -> RunResult:
    threads = min(MAX_THREADS, concurrency)
    per_thread = max(1, count // threads)
    with tempfile.TemporaryDirectory(prefix="nexus-wrk-") as tmp:
        template_path = Path(tmp) / "body.json"
        template_path.write_text(template)
        ids_path = "-"
        if ids:
            ids_path = str(Path(tmp) / "ids.txt")
            Path(ids_path).write_text("\n".join(ids) + "\n")
        command = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", MAX_DURATION, "--timeout", TIMEOUT]
        command += ["-s", str(LUA), url + "/graphql", "--", str(template_path), str(per_thread), nonce, expect]
        command += [api_key, ids_path, str(threads)]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None and proc.stdout is not None
        stderr_lines, finished = [], 0
        for raw in proc.stderr:
            stderr_lines.append(raw)
            if raw.startswith("BENCH_THREAD_DONE"):
                finished += 1
                if finished == threads:
                    proc.send_signal(signal.SIGINT)  # wrk prints its summary and calls done() on SIGINT
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = "".join(stderr_lines)
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {stderr.strip() or stdout.strip()}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    sample = next((x for x in stderr.splitlines() if x.startswith("BENCH_BAD ")), "")
    seconds = data["duration_us"] / 1e6
    result = RunResult(
        requests=data["requests"],
        seconds=seconds,
        latencies_ms=[],
        bad=data["bad"] + data["socket_errors"],
        bad_sample=sample.removeprefix("BENCH_BAD "),
        generator_cpu_s=usage.ru_utime + usage.ru_stime,
    )
    result.extra = {"p50": data["p50_us"] / 1000, "p90": data["p90_us"] / 1000, "p99": data["p99_us"] / 1000}
    return result
