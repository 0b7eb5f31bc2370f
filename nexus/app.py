"""create_app(): Starlette routes and the lifespan that owns per-process resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from nexus.body_limit import MAX_BODY_BYTES, BodyLimitMiddleware
from nexus.config import Settings, get_settings
from nexus.crypto import Cipher
from nexus.db.engine import create_engine, create_sessionmaker
from nexus.db.migrations import at_head, head_revision
from nexus.gc_tuning import tune_gc
from nexus.graphql_post import GRAPHQL_PATH, GatewayApp
from nexus.observability import RequestContextMiddleware, configure_logging, metrics_text
from nexus.ratelimit import RateLimiter
from nexus.schema.app import GraphQLApp
from nexus.state import AppState

log = logging.getLogger("nexus.app")

# The webhook client never follows redirects (API.md) and keeps a bounded pool:
# enough parallel deliveries for 2 cores without exhausting file descriptors.
HTTP_MAX_CONNECTIONS = 200
# Readiness answers quickly even when the database hangs.
READY_TIMEOUT_S = 2.0
DEMO_DIR = Path(__file__).parent / "demo" / "static"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    holder: dict[str, AppState] = {}
    graphql = GraphQLApp.build(settings, holder)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = await _start(settings)
        tune_gc()
        holder["state"] = state
        app.state.nexus = state
        try:
            yield
        finally:
            await _stop(state)

    async def healthz(request: Request) -> Response:
        state = holder.get("state")
        if state is None or not state.started:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        state = holder.get("state")
        if state is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                async with state.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                ok = await at_head(state.engine, state.head_revision)
        except Exception as exc:  # readiness reports any failure as not ready
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        if not ok:
            return JSONResponse({"status": "migrations pending", "reason": "run `nexus migrate`"}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(request: Request) -> Response:
        body, content_type = metrics_text()
        return Response(body, media_type=content_type)

    async def index(request: Request) -> Response:
        return RedirectResponse("/graphql")

    routes: list[Route | WebSocketRoute | Mount] = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route(GRAPHQL_PATH, graphql, methods=["GET", "POST"]),
        WebSocketRoute(GRAPHQL_PATH, graphql),
    ]
    if settings.demo_enabled and DEMO_DIR.is_dir():
        from nexus.demo.routes import demo_routes

        routes.extend(demo_routes(holder, DEMO_DIR))
    middleware = [
        Middleware(RequestContextMiddleware),
        # Bodies over 1 MiB get 413 before anything reads them (nexus/body_limit.py).
        Middleware(BodyLimitMiddleware),
        # Browsers on merchants' sites call us with a publishable key: CORS per NEXUS_ALLOWED_ORIGINS.
        Middleware(
            CORSMiddleware,
            allow_origins=settings.origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "x-api-key", "content-type", "x-request-id"],
        ),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "not_found", "message": f"no route {request.url.path}; try /graphql"}, 404)

    return GatewayApp(
        graphql=graphql,
        max_body_bytes=MAX_BODY_BYTES,
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={404: not_found},
    )


def open_state(settings: Settings, *, rate_limit: float | None = None) -> AppState:
    """The resources one process shares (API server or `nexus worker`), made once."""
    url = settings.database_url
    if url is None:
        raise RuntimeError("DATABASE_URL is not set: start the server with `nexus serve`")
    engine = create_engine(url, settings)
    return AppState(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine),
        http=httpx.AsyncClient(
            follow_redirects=False,
            timeout=settings.webhook_timeout,
            limits=httpx.Limits(max_connections=HTTP_MAX_CONNECTIONS),
        ),
        cipher=Cipher(settings.master_key_bytes()),
        rate_limiter=RateLimiter(settings.rate_limit if rate_limit is None else rate_limit),
        head_revision=head_revision(url),
    )


async def close_state(state: AppState) -> None:
    await state.http.aclose()
    await state.engine.dispose()


async def _start(settings: Settings) -> AppState:
    from nexus.background import start_background

    state = open_state(settings)
    await start_background(state)
    state.started = True
    log.info("nexus started")
    return state


async def _stop(state: AppState) -> None:
    from nexus.background import stop_background

    state.started = False
    await stop_background(state)
    await close_state(state)
    log.info("nexus stopped")
