"""Structured logs with a request id, and Prometheus metrics."""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import random
import sys
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("nexus_http_requests_total", "HTTP requests", ["method", "path", "status"], registry=REGISTRY)
# Buckets span 1 ms (a cached replay) to 10 s (the webhook timeout): the range our requests live in.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY = Histogram(
    "nexus_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "path"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
# How each GraphQL HTTP request was answered: "direct" (nexus/schema/direct_execution.py),
# "strawberry" (the full view), "stored" (a stored replay answer, nexus/schema/replay_responses.py).
GRAPHQL_PATHS = Counter(
    "nexus_graphql_http_requests_total", "GraphQL HTTP requests by execution path", ["path"], registry=REGISTRY
)
WEBHOOK_ATTEMPTS = Counter("nexus_webhook_attempts_total", "Webhook delivery attempts", ["outcome"], registry=REGISTRY)

# Paths we label as themselves; anything else is "other" so label cardinality stays bounded.
KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})


def metrics_text() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log duplicates ours and carries no request id.
    logging.getLogger("uvicorn.access").disabled = True
    # Strawberry logs every error with a traceback; our extension logs them properly instead.
    logging.getLogger("strawberry.execution").disabled = True


class RequestContextMiddleware:
    """Request id (from X-Request-Id or new), latency histogram and request counter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or _new_request_id()
        token = request_id_var.set(request_id)
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        method = scope.get("method", "WS")
        start = time.perf_counter()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if scope["type"] == "http":
                _latency(method, path).observe(time.perf_counter() - start)
                _requests(method, path, status or 500).inc()
            request_id_var.reset(token)


def _new_request_id() -> str:
    # Same shape as uuid4().hex. A request id only correlates log lines, it guards nothing, so it
    # needs no CSPRNG: uuid4's os.urandom read was a syscall per request (~1% of a create's CPU).
    # `random` is reseeded in forked children, so workers do not repeat each other's ids.
    return f"{random.getrandbits(128):032x}"


# Label children looked up once per label set instead of per request (1% of a create's CPU).
# The sets are few (paths are KNOWN_PATHS or "other", llhttp parses known methods only, statuses
# are HTTP's); the bound is there anyway.
LABEL_SETS_CACHED = 1024


@functools.lru_cache(maxsize=LABEL_SETS_CACHED)
def _latency(method: str, path: str) -> Any:
    return LATENCY.labels(method, path)


@functools.lru_cache(maxsize=LABEL_SETS_CACHED)
def _requests(method: str, path: str, status: int) -> Any:
    return REQUESTS.labels(method, path, str(status))


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")[:64]
            if candidate.replace("-", "").isalnum():
                return candidate
    return None
