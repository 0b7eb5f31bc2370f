"""The subscriber benchmark runs end to end (N=20). Numbers are not checked: speed is bench/'s."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

# A cold embedded PostgreSQL plus a server start on a busy 2-core machine, then 20 payments.
BENCH_TIMEOUT_S = 240


def test_subscriber_benchmark_smoke() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.subscribers", "--n", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| subscribers that received SUCCEEDED | 20/20 |" in done.stdout
    assert "| of those, saw versions 1, 2, 3 with none skipped | 20/20 |" in done.stdout
