"""Broker gauges on /metrics: open subscribers (tests assert disconnects return it to its
previous value), whether LISTEN is up, and how often it had to reconnect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Gauge

from nexus.observability import REGISTRY

if TYPE_CHECKING:
    from nexus.realtime.broker import Broker

SUBSCRIBERS = Gauge("nexus_realtime_subscribers", "Open realtime subscribers in this process", registry=REGISTRY)
LISTENING = Gauge("nexus_realtime_listening", "1 while the LISTEN connection is up", registry=REGISTRY)
RECONNECTS = Gauge("nexus_realtime_reconnects", "LISTEN connections lost and re-made", registry=REGISTRY)


def register_broker(broker: Broker) -> None:
    """Point the gauges at this process's broker (read at scrape time, nothing to keep in sync)."""
    SUBSCRIBERS.set_function(lambda: broker.stats.subscribers)
    LISTENING.set_function(lambda: 1.0 if broker.stats.connected else 0.0)
    RECONNECTS.set_function(lambda: broker.stats.reconnects)
