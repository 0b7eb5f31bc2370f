"""Garbage-collector settings for API processes.

A GraphQL request allocates thousands of short-lived containers (AST visits,
result dicts, SQLAlchemy rows), so CPython's default gen-0 threshold of 700
allocations runs a collection several times per request and a full one every
few hundred: in the createPaymentIntent benchmark that was ~8 % of an API
process's CPU and a good part of its p99 at c=32 (bench/README.md).
Almost all of that garbage is freed by reference counting; only cycles need the
collector, and they are rare here. (graphql-core's executor made one per operation,
about 70 objects a create, until nexus/schema/execution_context.py removed it: since
then a create load runs no collection at all.)
"""

from __future__ import annotations

import gc

# Gen-0 collections every 20,000 net allocations (a few requests) instead of 700. Larger
# (100,000 with 50/100 below) gained little more throughput and made the rarer older-gen
# passes long enough to show as 40-100 ms stalls in p99 at concurrency 1 (bench/README.md).
GEN0_THRESHOLD = 20_000
# Gen-1 every 10 gen-0 passes and gen-2 every 10 gen-1 passes: CPython's own ratios.
GEN1_THRESHOLD = 10
GEN2_THRESHOLD = 10


def tune_gc() -> None:
    """Call once start-up is done: what exists now (schema, metadata, modules) lives as long
    as the process, so it is moved out of the collector's sight (gc.freeze)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
