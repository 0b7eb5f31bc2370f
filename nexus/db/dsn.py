"""The plain asyncpg DSN for direct connections (LISTEN, admin), from the application's SQLAlchemy URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters asyncpg understands in a DSN (libpq names). Anything else (SQLAlchemy or
# driver options) would reach PostgreSQL as a server setting and fail the connection.
_LIBPQ_PARAMS = frozenset(
    {
        "host",
        "port",
        "dbname",
        "database",
        "user",
        "password",
        "passfile",
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "sslpassword",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
        "service",
    }
)


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://…?ssl=require&host=/sock` → `postgresql://…?sslmode=require&host=/sock`.

    Settings normalise libpq's `sslmode` to asyncpg's `ssl`; a DSN wants `sslmode` back.
    The unix-socket form (`?host=/path`, empty netloc host) passes through unchanged.
    """
    parts = urlsplit(url)
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        name = "sslmode" if key == "ssl" else key
        if name in _LIBPQ_PARAMS:
            query.append((name, value))
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), parts.fragment))
