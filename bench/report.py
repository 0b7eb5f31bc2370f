"""results.json → report.md (a table per scenario) and chart.png (throughput and p99 vs concurrency)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.scenarios import SCENARIOS

SYSTEMS = ("gateway", "asyncpg", "pgbench")
STYLE = {"gateway": ("tab:blue", "o-"), "asyncpg": ("tab:orange", "s--"), "pgbench": ("tab:green", "^:")}


def _index(results: Any) -> dict[tuple[str, str, int], Any]:
    return {(r.scenario, r.system, r.concurrency): r for r in results.rows}


def markdown(results: Any) -> str:
    rows = _index(results)
    lines = ["## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in results.machine.items()]
    lines += [
        "",
        f"Generator: {results.settings['generator']}; {results.settings['count']} measured requests "
        f"after {results.settings['warmup']} warm-up per cell.",
        "",
    ]
    for name in "abcde":
        cells = sorted(c for (s, system, c) in rows if s == name and system == "gateway")
        if not cells:
            continue
        lines += [f"### ({name}) {SCENARIOS[name].title}", ""]
        lines += [
            "| c | gateway req/s | p50 ms | p99 ms | asyncpg req/s | p99 ms | pgbench req/s | p99 ms "
            "| ÷ asyncpg | ÷ pgbench | CPU ms/req API · PG · generator | connections per API process "
            "| during the gateway's run: checkpoints · autovacuum/analyze · WAL kB/req |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in cells:
            g = rows[(name, "gateway", c)]
            a, p = rows.get((name, "asyncpg", c)), rows.get((name, "pgbench", c))
            lines.append(
                f"| {c} | {g.throughput:.0f} | {g.p50:.1f} | {g.p99:.1f} "
                f"| {_v(a, 'throughput', '.0f')} | {_v(a, 'p99', '.1f')} "
                f"| {_v(p, 'throughput', '.0f')} | {_v(p, 'p99', '.1f')} "
                f"| {_ratio(g, a)} | {_ratio(g, p)} "
                f"| {g.api_cpu_ms_per_request:.2f} · {g.db_cpu_ms_per_request:.2f} "
                f"· {g.generator_cpu_ms_per_request:.2f} | {g.note.removeprefix('connections per API process ')} "
                f"| {_during(g)} |"
            )
        lines.append("")
    if results.peak_rss_mb:
        lines += [f"Peak RSS per API process (VmHWM): {', '.join(f'{v} MB' for v in results.peak_rss_mb.values())}", ""]
    if results.scaling:
        s = results.scaling
        lines += [
            f"(a) at c=32: --workers 1 {s['workers_1']:.0f} req/s, --workers 2 {s['workers_2']:.0f} req/s "
            f"→ {s['ratio']}×",
            "",
        ]
    if results.target_pairs:
        pairs = results.target_pairs
        ratios = sorted(pair["ratio"] for pair in pairs)
        lines += [
            f"(a) at c=32 again, {len(pairs)} pairs each run back to back (gateway req/s ÷ asyncpg req/s): "
            + ", ".join(f"{p['gateway']:.0f} ÷ {p['asyncpg']:.0f} = {p['ratio']:.0%}" for p in pairs)
            + f"; median {statistics.median(ratios):.0%}, lowest {ratios[0]:.0%}",
            "",
        ]
    if results.traces:
        lines += ["## SQL per request (PostgreSQL's log, BEGIN/COMMIT included)", ""]
        for name, t in results.traces.items():
            lines.append(f"- ({name}) {t['statements_per_request']} statements")
        lines.append("")
    return "\n".join(lines)


def _v(row: Any, attr: str, fmt: str) -> str:
    return "–" if row is None else format(getattr(row, attr), fmt)


def _ratio(g: Any, base: Any) -> str:
    if base is None or not base.throughput:
        return "–"
    return f"{g.throughput / base.throughput:.0%}"


def chart(results: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _index(results)
    names = [n for n in "abcde" if any(s == n for (s, _, _) in rows)]
    fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 7), squeeze=False)
    for col, name in enumerate(names):
        for system in SYSTEMS:
            points = sorted((c, r) for (s, sy, c), r in rows.items() if s == name and sy == system)
            if not points:
                continue
            color, style = STYLE[system]
            xs = [c for c, _ in points]
            axes[0][col].plot(xs, [r.throughput for _, r in points], style, color=color, label=system)
            axes[1][col].plot(xs, [r.p99 for _, r in points], style, color=color, label=system)
        axes[0][col].set_title(f"({name}) {SCENARIOS[name].title}", fontsize=9)
        for row in (0, 1):
            axes[row][col].set_xscale("log", base=2)
            axes[row][col].set_xlabel("concurrency")
            axes[row][col].grid(True, alpha=0.3)
        axes[0][col].set_ylabel("requests/s")
        axes[1][col].set_ylabel("p99 latency, ms")
        axes[1][col].set_yscale("log")
    axes[0][0].legend(fontsize=8)
    load = results.machine.get("load_average_at_start", "?")
    fig.suptitle(f"Nexus gateway vs its SQL through asyncpg and pgbench (2 cores, load avg at start {load})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: Any, out: Path) -> None:
    (out / "report.md").write_text(markdown(results))
    try:
        chart(results, out / "chart.png")
    except ImportError:
        print("bench: matplotlib is missing, no chart: `pip install -e '.[bench]'` (make bench does it)")


def _during(row: Any) -> str:
    """What PostgreSQL did beside the requests (older results.json files lack it)."""
    if not hasattr(row, "checkpoints"):
        return "–"
    return f"{row.checkpoints} · {row.autovacuums} · {row.wal_kb_per_request:.1f}"
