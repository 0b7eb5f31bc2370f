"""Configuration: every DATABASE_URL form, and one clear line for bad values."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from nexus.config import ConfigError, load_settings, normalize_database_url

GOOD_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgres://u:p@db/app", "postgresql+asyncpg://u:p@db/app"),
        ("postgresql+asyncpg://u:p@db/app", "postgresql+asyncpg://u:p@db/app"),
        (
            "postgresql://u:@/app?host=/var/run/postgresql",
            "postgresql+asyncpg://u:@/app?host=%2Fvar%2Frun%2Fpostgresql",
        ),
        ("postgresql://u:p@db/app?sslmode=require", "postgresql+asyncpg://u:p@db/app?ssl=require"),
        ("postgresql://u:p@db/app?sslmode=verify-full", "postgresql+asyncpg://u:p@db/app?ssl=verify-full"),
    ],
)
def test_database_url_forms(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u@h/db",
        "postgresql://u:p@db:notaport/app",
        "postgresql://u:p@db",
        "postgresql:///app",
        "postgresql://u:p@db/app?sslmode=sometimes",
    ],
)
def test_malformed_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        normalize_database_url(url)


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") and k != "DATABASE_URL"}
    return {**env, **values}


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"DATABASE_URL": "mysql://nope/db"}, "DATABASE_URL"),
        ({"NEXUS_MASTER_KEY": "not-base64!!"}, "NEXUS_MASTER_KEY"),
        ({"NEXUS_MASTER_KEY": base64.b64encode(b"short").decode()}, "32 bytes"),
        ({"NEXUS_ENV": "production"}, "NEXUS_MASTER_KEY is required in production"),
        ({"NEXUS_WEBHOOK_RETRY_DELAYS": "5,soon"}, "NEXUS_WEBHOOK_RETRY_DELAYS"),
    ],
)
def test_bad_configuration_fails_with_one_clear_line(env: dict[str, str], needle: str, tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nexus.cli", "serve"],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0] and "Traceback" not in result.stderr


def test_production_with_a_master_key_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_ENV", "production")
    monkeypatch.setenv("NEXUS_MASTER_KEY", GOOD_KEY)
    settings = load_settings()
    assert settings.production and settings.master_key_bytes() == b"k" * 32
    assert settings.allow_private_webhooks is False and settings.graphiql_enabled is False


def test_blank_values_from_env_example_mean_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "NEXUS_MASTER_KEY", "NEXUS_WEBHOOK_ALLOW_PRIVATE", "NEXUS_GRAPHIQL"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert settings.database_url is None and settings.allow_private_webhooks is True


def test_retry_delays_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_WEBHOOK_RETRY_DELAYS", "1,2.5,10")
    assert load_settings().retry_delays == (1.0, 2.5, 10.0)
    monkeypatch.delenv("NEXUS_WEBHOOK_RETRY_DELAYS")
    with pytest.raises(ConfigError):
        monkeypatch.setenv("NEXUS_RATE_LIMIT", "-1")
        load_settings()
