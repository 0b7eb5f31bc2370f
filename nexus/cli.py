"""The `nexus` command: serve, migrate, worker, listen."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from types import FrameType

from nexus.config import ConfigError, Settings, load_settings

log = logging.getLogger("nexus.cli")

# uvicorn's grace for in-flight requests; with ~1 s for the rest, exit stays under API.md's 10 s.
GRACEFUL_SHUTDOWN_S = 8


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        sys.exit(2)
    try:
        settings = load_settings()
        args.func(args, settings)
    except ConfigError as error:
        print(f"nexus: configuration error: {error}", file=sys.stderr)
        sys.exit(2)
    except StartupError as error:
        print(f"nexus: {error}", file=sys.stderr)
        sys.exit(1)


class StartupError(Exception):
    """Start-up failed for a reason the message explains."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nexus",
        description="Nexus Gateway: a payment gateway with one GraphQL API. "
        "With no DATABASE_URL it runs its own PostgreSQL under NEXUS_DATA_DIR (default ./.nexus).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate, then serve the API (and the webhook dispatcher)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="API processes (2 recommended on 2 cores)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.set_defaults(func=_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema to the latest version")
    migrate.add_argument("--revision", default="head", help="target revision (default head)")
    migrate.add_argument("--downgrade", action="store_true", help="downgrade to --revision instead")
    migrate.set_defaults(func=_migrate)

    worker = sub.add_parser("worker", help="run the webhook dispatcher and background jobs alone")
    worker.set_defaults(func=_worker)

    listen = sub.add_parser("listen", help="a local merchant endpoint that verifies and prints webhooks")
    listen.add_argument("--port", type=int, default=4242, help="port to listen on (default 4242)")
    listen.add_argument("--secret", default=None, help="the endpoint's whsec_… secret, to verify signatures")
    listen.add_argument("--forward-to", default=None, help="also forward each delivery to this URL")
    listen.set_defaults(func=_listen)
    return parser


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database URL: DATABASE_URL, or the embedded server we start (and stop) here."""
    if settings.database_url:
        yield settings.database_url
        return
    from nexus.db.embedded import EmbeddedPostgresError, start_embedded

    print(f"nexus: starting embedded PostgreSQL in {settings.data_dir.resolve()} …", file=sys.stderr, flush=True)
    try:
        embedded = start_embedded(settings.data_dir)
    except EmbeddedPostgresError as error:
        raise StartupError(str(error)) from None
    # Children (uvicorn workers) inherit this and connect to the same server.
    os.environ["DATABASE_URL"] = embedded.url
    try:
        yield embedded.url
    finally:
        print("nexus: stopping embedded PostgreSQL", file=sys.stderr, flush=True)
        embedded.stop()


@contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so
    `finally` blocks (stopping the embedded PostgreSQL) run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _migrate_to(url: str, revision: str = "head", downgrade: bool = False) -> None:
    from nexus.db import migrations

    print(
        f"nexus: {'downgrading' if downgrade else 'migrating'} database to {revision} …",
        file=sys.stderr,
        flush=True,
    )
    try:
        if downgrade:
            migrations.downgrade(url, revision)
        else:
            migrations.upgrade(url, revision)
    except OSError as error:
        raise StartupError(f"cannot reach the database ({error}); check DATABASE_URL") from None


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from nexus.accept_balance import LOOP as BALANCED_LOOP
    from nexus.accept_balance import shared_counts
    from nexus.http_protocol import HeadHoldingProtocol

    settings.master_key_bytes()  # create the development key once, before workers race for it
    workers = args.workers if not args.reload else None
    balance = shared_counts() if workers and workers > 1 else nullcontext()
    with exit_on_sigterm(), database(settings) as url, balance:
        _migrate_to(url)
        print(f"nexus: serving on http://{args.host}:{args.port}/graphql", file=sys.stderr, flush=True)
        uvicorn.run(
            "nexus.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=workers,
            # Several workers take turns at the shared socket (nexus.accept_balance).
            loop=BALANCED_LOOP if workers and workers > 1 else "auto",
            # A response's head and body in one write (nexus.http_protocol).
            http=HeadHoldingProtocol,
            reload=args.reload,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            access_log=False,
            # Nothing reads the client's address (limits are per API key), so uvicorn's
            # X-Forwarded-For middleware would be one more layer on every request for nothing.
            proxy_headers=False,
            log_config=None,
        )


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    with database(settings) as url:
        _migrate_to(url, args.revision, args.downgrade)
    print("nexus: done", file=sys.stderr)


def _worker(args: argparse.Namespace, settings: Settings) -> None:
    from nexus.worker import run_worker

    with exit_on_sigterm(), database(settings) as url:
        _migrate_to(url)
        os.environ["DATABASE_URL"] = url
        try:
            asyncio.run(run_worker(load_settings()))
        except KeyboardInterrupt:
            pass


def _listen(args: argparse.Namespace, settings: Settings) -> None:
    from nexus.webhooks.listener import run_listener

    try:
        run_listener(args.port, args.secret, args.forward_to)
    except ValueError as error:
        raise StartupError(f"listen: {error}") from None


if __name__ == "__main__":
    main()
