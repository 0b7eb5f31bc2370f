"""`make bench` end to end on a tiny count: every scenario, both baselines, the report and the chart.

No timing assertions (benchmarks are not tests): only that every cell ran and every answer was right.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench import baseline

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_bench_runs_end_to_end(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.run", "--count", "16", "--warmup", "4", "--concurrency", "2"]
    command += ["--no-scaling", "--target-pairs", "2", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=850)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    cells = {(r["scenario"], r["system"]) for r in results["rows"]}
    for scenario in "abe":
        assert {(scenario, "gateway"), (scenario, "asyncpg"), (scenario, "pgbench")} <= cells, cells
    # Replays (d) send no SQL (stored responses) and the lifecycle (c) is HTTP end to end: no baselines.
    assert {("c", "gateway"), ("d", "gateway")} <= cells
    assert results["traces"]["d"]["statements_per_request"] == 0
    assert all(r["bad"] == 0 and r["requests"] > 0 for r in results["rows"]), results["rows"]
    # PostgreSQL's own log: the gateway sends what the baselines send (writes held back and sent
    # as one statement: (a) 1, a transaction by itself, (b) 10 in two transactions).
    # The baselines' sessions, in the same log, send exactly as many.
    for scenario in "abe":
        trace = results["traces"][scenario]
        assert round(trace["statements_per_request"]) == baseline.STATEMENTS[scenario]
        assert trace["asyncpg_statements_per_request"] == trace["statements_per_request"], trace
        assert trace["pgbench_statements_per_request"] == trace["statements_per_request"], trace
    assert len(results["peak_rss_mb"]) == 2
    # (a) at c=32 again as gateway/asyncpg pairs: both sides ran, and the ratio is theirs.
    assert len(results["target_pairs"]) == 2
    for pair in results["target_pairs"]:
        assert pair["gateway"] > 0 and pair["asyncpg"] > 0
        assert pair["ratio"] == pytest.approx(pair["gateway"] / pair["asyncpg"], abs=0.001)
    assert "(a) createPaymentIntent" in (tmp_path / "report.md").read_text()
    assert "2 pairs each run back to back" in (tmp_path / "report.md").read_text()
    try:
        import matplotlib  # noqa: F401  (the bench extra; without it the report says so and draws no chart)
    except ImportError:
        return
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(300)
def test_the_in_process_measure_runs() -> None:
    command = [sys.executable, "-m", "bench.inprocess", "--count", "8", "--rounds", "2", "--warmup", "2"]
    data_dirs_before = set(Path(tempfile.gettempdir()).glob("nexus-inprocess-*"))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert set(Path(tempfile.gettempdir()).glob("nexus-inprocess-*")) <= data_dirs_before  # its database is gone
    lines = [line for line in done.stdout.splitlines() if line.strip().endswith(" ms")]
    names = {line.rsplit(None, 2)[0].strip() for line in lines}
    assert names == {
        "{__typename}, direct",
        "createPaymentIntent, direct",
        "{__typename}, strawberry",
        "createPaymentIntent, strawberry",
        "processPaymentIntent, direct",
    }, done.stdout
