"""Is this exception the database being unreachable (restarting, down, out of connections)?

Such failures are not bugs: the request changed nothing it did not roll back,
and the same request (with its idempotency key) may simply be sent again. The
API reports them as SERVICE_UNAVAILABLE with ``retryable: true`` instead of a
masked INTERNAL_SERVER_ERROR, and background loops log them as one line.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

# SQLSTATE classes meaning "the server or the connection went away", not "your SQL is wrong":
# 08 connection exception, 57P01-03 admin/crash shutdown and "cannot connect now" (starting up),
# 53300 too many connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# Walking __cause__/__context__/orig: SQLAlchemy wraps the adapter's error, which wraps asyncpg's.
_MAX_CHAIN = 8


def is_database_unavailable(error: BaseException) -> bool:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending and len(seen) < _MAX_CHAIN:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_unavailable(current):
            return True
        pending.extend([current.__cause__, current.__context__, getattr(current, "orig", None)])
    return False


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        return state.startswith(_UNAVAILABLE_SQLSTATES)
    if isinstance(error, asyncpg.InterfaceError):
        return "closed" in str(error)  # "connection is closed"; other interface errors are bugs
    # Refused / reset TCP, a missing unix socket (server stopped), a connect timeout.
    return isinstance(error, ConnectionError | TimeoutError | FileNotFoundError)
