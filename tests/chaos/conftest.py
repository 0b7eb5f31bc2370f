"""Fixtures for fault injection: throwaway databases, a private PostgreSQL, a server to kill."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus.db.embedded import EmbeddedPostgres, start_embedded
from tests.chaos.databases import fresh_database
from tests.webhooks.receiver import Receiver

# `make chaos` sets NEXUS_CHAOS_LONG=1 for more kills, more fuzzing and the soak; `make test` stays short.
LONG = os.environ.get("NEXUS_CHAOS_LONG") == "1"
# Recovery within seconds instead of the production minute, so a test sees it happen.
RECOVERY_AFTER_S = "2"
# A little simulated bank latency widens the window between the two processing transactions,
# so kills land mid-payment more often.
BANK_LATENCY_MS = "30"

SERVER_ENV = {"NEXUS_RECOVERY_AFTER_SECONDS": RECOVERY_AFTER_S, "NEXUS_BANK_LATENCY_MS": BANK_LATENCY_MS}


@pytest.fixture
def chaos_database(embedded_pg: EmbeddedPostgres) -> str:
    """A database of its own: kills and restarts never disturb the shared one."""
    return fresh_database(embedded_pg)


@pytest.fixture
def private_pg() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of its own, for tests that stop and start it."""
    data_dir = Path(tempfile.mkdtemp(prefix="nexus-chaos-pg-"))
    pg = start_embedded(data_dir)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def chaos_receiver() -> Iterator[Receiver]:
    """A real HTTP webhook receiver on loopback that records every delivery."""
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
