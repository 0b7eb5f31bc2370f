"""What every response to hostile input must look like: typed, no 5xx, nothing leaked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import httpx

# Signs of an internal detail escaping: a traceback, a source path, a driver or SQL text.
LEAK_PATTERNS = re.compile(
    r"Traceback|File \"|\.py\"|line \d+, in|sqlalchemy|asyncpg|psycopg|postgres|"
    r"\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.+\bSET\b|\bDELETE FROM\b|UndefinedTable|"
    r"IntegrityError|ProgrammingError|DataError|UnicodeEncodeError|KeyError|TypeError|AttributeError",
    re.IGNORECASE | re.DOTALL,
)


def leaks(text: str) -> list[str]:
    return [m.group(0)[:60] for m in LEAK_PATTERNS.finditer(text)]


def assert_clean(response: httpx.Response, echoed: Iterable[str] = ()) -> dict[str, Any]:
    """No 5xx, no masked internal error, every error coded, no leak; returns the JSON body.

    `echoed` are the request's own strings: the API may return them (a name, an unknown id),
    and SQL-looking input coming back is not SQL leaking out.
    """
    assert response.status_code < 500, (response.status_code, response.text[:500])
    text = response.text
    for value in sorted(echoed, key=len, reverse=True):
        if value:
            text = text.replace(json.dumps(value)[1:-1], "").replace(value, "")
    assert not leaks(text), (leaks(text), response.text[:500])
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, error
        assert code != "INTERNAL_SERVER_ERROR", error
    return body


def top_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def user_codes(body: dict[str, Any], field: str) -> list[str]:
    payload = (body.get("data") or {}).get(field) or {}
    return [e["code"] for e in payload.get("userErrors") or []]
