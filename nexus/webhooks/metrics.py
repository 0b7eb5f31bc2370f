"""Prometheus metrics of webhook delivery (served by /metrics from the shared registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from nexus.observability import LATENCY_BUCKETS, REGISTRY, WEBHOOK_ATTEMPTS

# Per attempt: succeeded | retry | failed | gone | error(no response).
ATTEMPTS = WEBHOOK_ATTEMPTS
# Per delivery that reached a final state: succeeded | failed.
DELIVERIES = Counter(
    "nexus_webhook_deliveries_total", "Webhook deliveries that reached a final state", ["outcome"], registry=REGISTRY
)
ATTEMPT_LATENCY = Histogram(
    "nexus_webhook_attempt_duration_seconds",
    "Time from sending a webhook to its response (or error)",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge("nexus_webhook_queue_depth", "Webhook deliveries due now and not yet sent", registry=REGISTRY)
OLDEST_DUE_AGE = Gauge(
    "nexus_webhook_oldest_due_age_seconds", "How long the oldest due webhook delivery has waited", registry=REGISTRY
)
