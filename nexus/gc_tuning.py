"""Garbage-collector settings for API processes.

A GraphQL request allocates thousands of short-lived containers (AST visits,
result dicts, SQLAlchemy rows), so CPython's default gen-0 threshold of 700
allocations runs a collection several times per request and a full one every
few hundred: in the createPaymentIntent benchmark that was ~8 % of an API
process's CPU and most of its p99 (174 -> 98-123 ms at c=32, bench/README.md).
Almost all of that garbage is freed by reference counting; only cycles need the
collector, and they are rare here.
"""

from __future__ import annotations

import gc

# Gen-0 collections every 100,000 net allocations (tens of requests) instead of 700.
GEN0_THRESHOLD = 100_000
# Gen-1 every 50 gen-0 passes and gen-2 every 100 gen-1 passes: long-lived cycles are
# still found within minutes at full load, and CPython adds its own gen-2 guard
# (a full pass only once the survivors grew by 25 %).
GEN1_THRESHOLD = 50
GEN2_THRESHOLD = 100


def tune_gc() -> None:
    """Call once start-up is done: what exists now (schema, metadata, modules) lives as long
    as the process, so it is moved out of the collector's sight (gc.freeze)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
