"""Settings: the one place defaults live.

Read from the environment and `.env`. Invalid values fail at start with one
clear line (`ConfigError`), never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Default retry schedule after failed attempt 1, 2, ... (API.md § Events and webhooks).
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


class ConfigError(Exception):
    """A configuration value is unusable; the message says which and how to fix it."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    data_dir: Path = Field(default=Path("./.nexus"), alias="NEXUS_DATA_DIR")
    env: Environment = Field(default=Environment.DEVELOPMENT, alias="NEXUS_ENV")
    master_key: str | None = Field(default=None, alias="NEXUS_MASTER_KEY")
    webhook_retry_delays: str | None = Field(default=None, alias="NEXUS_WEBHOOK_RETRY_DELAYS")
    webhook_timeout: float = Field(default=10.0, gt=0, alias="NEXUS_WEBHOOK_TIMEOUT")
    webhook_allow_private: bool | None = Field(default=None, alias="NEXUS_WEBHOOK_ALLOW_PRIVATE")
    bank_latency_ms: int = Field(default=0, ge=0, alias="NEXUS_BANK_LATENCY_MS")
    rate_limit: float = Field(default=100.0, ge=0, alias="NEXUS_RATE_LIMIT")
    # Stripe cancels uncaptured authorizations after 7 days.
    auth_capture_window_s: int = Field(default=7 * 24 * 3600, gt=0, alias="NEXUS_CAPTURE_WINDOW_SECONDS")
    # An endpoint failing every delivery this long is disabled (Stripe: a few days).
    endpoint_disable_after_s: int = Field(default=5 * 24 * 3600, gt=0, alias="NEXUS_ENDPOINT_DISABLE_SECONDS")
    # A payment attempt unfinished this long belongs to a crashed request: its idempotency key may be
    # resumed and the recovery job re-drives it. 60 s = nexus.domain.idempotency.LOCK_TIMEOUT (past the
    # longest live request); fault-injection tests shorten it to see recovery within seconds.
    recovery_after_s: float = Field(default=60.0, gt=0, alias="NEXUS_RECOVERY_AFTER_SECONDS")
    # Events and delivery attempts are kept 30 days, like Stripe's event log.
    retention_days: int = Field(default=30, gt=0, alias="NEXUS_RETENTION_DAYS")
    graphiql: bool | None = Field(default=None, alias="NEXUS_GRAPHIQL")
    demo_pages: bool | None = Field(default=None, alias="NEXUS_DEMO_PAGES")
    allowed_origins: str = Field(default="*", alias="NEXUS_ALLOWED_ORIGINS")
    log_level: str = Field(default="INFO", alias="NEXUS_LOG_LEVEL")
    # Run the webhook dispatcher inside `nexus serve` (off when a separate `nexus worker` runs).
    run_dispatcher: bool = Field(default=True, alias="NEXUS_RUN_DISPATCHER")
    # Connections kept open per process. A worker at c=32 on 2 cores has ~18 requests in flight:
    # with 10, the pool's overflow connections were closed on return and reopened (43 new
    # PostgreSQL sessions per 4,000 creates, each a backend fork and fresh prepared statements):
    # 20 keeps them, measured +11% throughput and 66 -> 50 ms p99 for (a) (bench/README.md).
    # Opened lazily, so an idle process holds only what its peak needed; never more (no
    # overflow, nexus/db/engine.py): budget it against the server's max_connections.
    db_pool_size: int = Field(default=20, gt=0, alias="NEXUS_DB_POOL_SIZE")
    # Set behind a transaction pooler (Supabase :6543) where prepared statements break.
    db_statement_cache_size: int | None = Field(default=None, alias="NEXUS_DB_STATEMENT_CACHE_SIZE")
    # Plain JSON POSTs of known-good documents skip Strawberry's HTTP view (nexus/schema/
    # direct_execution.py); 0 sends every request through Strawberry (same answers, more CPU).
    direct_execution: bool = Field(default=True, alias="NEXUS_DIRECT_EXECUTION")

    @field_validator(
        "webhook_allow_private",
        "graphiql",
        "demo_pages",
        "db_statement_cache_size",
        "master_key",
        "webhook_retry_delays",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` lists every variable, blank meaning "default": accept that when copied.
        return None if isinstance(value, str) and value.strip() == "" else value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        return normalize_database_url(value)

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        decode_master_key(value)
        return value.strip()

    @field_validator("webhook_retry_delays")
    @classmethod
    def _check_delays(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            parse_retry_delays(value)
        return value

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def retry_delays(self) -> tuple[float, ...]:
        if self.webhook_retry_delays and self.webhook_retry_delays.strip():
            return parse_retry_delays(self.webhook_retry_delays)
        return DEFAULT_RETRY_DELAYS

    @property
    def allow_private_webhooks(self) -> bool:
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return not self.production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.production

    @property
    def demo_enabled(self) -> bool:
        return self.demo_pages if self.demo_pages is not None else not self.production

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    def master_key_bytes(self) -> bytes:
        """The AES-256 key; in development generated once into the data dir."""
        if self.master_key:
            return decode_master_key(self.master_key)
        if self.production:
            raise ConfigError("NEXUS_MASTER_KEY is required in production: set it to `openssl rand -base64 32`")
        return _dev_master_key(self.data_dir)


def decode_master_key(value: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("NEXUS_MASTER_KEY must be base64 (generate one: openssl rand -base64 32)") from None
    if len(key) != 32:
        raise ValueError(f"NEXUS_MASTER_KEY must decode to 32 bytes, got {len(key)} (openssl rand -base64 32)")
    return key


def parse_retry_delays(value: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise ValueError("NEXUS_WEBHOOK_RETRY_DELAYS must be comma-separated seconds, e.g. 5,300,1800") from None
    if not delays or any(d < 0 for d in delays):
        raise ValueError("NEXUS_WEBHOOK_RETRY_DELAYS must list one or more non-negative seconds")
    return delays


_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg", "postgres+asyncpg"}
# libpq sslmode -> asyncpg `ssl` argument (asyncpg accepts the same mode names under `ssl`).
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def normalize_database_url(url: str) -> str:
    """Turn every accepted form into a `postgresql+asyncpg://` URL SQLAlchemy understands."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            "DATABASE_URL must start with postgresql://, postgres:// or postgresql+asyncpg:// "
            f"(got scheme {parts.scheme or 'none'!r})"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    has_host = bool(parts.hostname) or any(k == "host" for k, _ in query)
    if not has_host:
        raise ValueError("DATABASE_URL has no host: use postgresql://user:pass@host:5432/db")
    if not parts.path.strip("/"):
        raise ValueError("DATABASE_URL has no database name: add /<dbname> after the host")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("DATABASE_URL has a malformed port") from None
    fixed = []
    for key, value in query:
        if key == "sslmode":
            if value not in _SSLMODES:
                raise ValueError(f"DATABASE_URL sslmode={value!r} is not one of {sorted(_SSLMODES)}")
            fixed.append(("ssl", value))
        else:
            fixed.append((key, value))
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(fixed), parts.fragment))


def _dev_master_key(data_dir: Path) -> bytes:
    path = data_dir / "master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        tmp.chmod(0o600)
        tmp.replace(path)
    return decode_master_key(path.read_text())


def load_settings() -> Settings:
    """Build settings or raise ConfigError with one readable line."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "configuration"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
    if settings.production and not settings.master_key:
        raise ConfigError("NEXUS_MASTER_KEY is required in production: set it to `openssl rand -base64 32`")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
