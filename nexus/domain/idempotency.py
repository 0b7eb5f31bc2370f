"""Idempotency decisions (Stripe's keys, rocket-rides' recovery points), pure.

The service layer loads the stored key (locking its row), asks ``decide``
what to do, and acts: execute, replay the stored response, resume from the
recovery point, or refuse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Final

import orjson

from nexus.domain.cards import normalize_number
from nexus.domain.errors import InvalidInput

# API.md: keys are at most 255 characters (Stripe's limit) and kept 24 hours.
MAX_KEY_LENGTH: Final = 255
KEY_TTL: Final = timedelta(hours=24)

# A lock older than this belongs to a request that crashed, and its key may be
# recovered. 60 s is well past the longest live request: the bank simulator's
# latency (NEXUS_BANK_LATENCY_MS, seconds at most) plus two short transactions,
# and past the 30 s at which proxies and clients give up; yet short enough that
# a client retrying after a crash gets through within a minute.
LOCK_TIMEOUT: Final = timedelta(seconds=60)

# Where a request that started but never finished stands (rocket-rides).
RECOVERY_POINT_STARTED: Final = "started"
RECOVERY_POINT_FINISHED: Final = "finished"

# Argument names whose values are card data: replaced by a hash before the
# fingerprint is taken, so no plaintext is needed to compare requests later.
SENSITIVE_ARGUMENTS: Final = frozenset({"number", "cvc"})

_KEY_FIELD: Final = ["idempotencyKey"]


@dataclass
class StoredKey:
    fingerprint: str
    locked_at: datetime | None
    response: dict[str, Any] | None
    recovery_point: str
    created_at: datetime


class Decision(Enum):
    EXECUTE = "EXECUTE"  # no such key: store it locked, then run
    REPLAY = "REPLAY"  # same request already finished: return the stored response
    RESUME = "RESUME"  # same request, left unfinished by a crash: continue from recovery_point
    IN_USE = "IN_USE"  # same request still running elsewhere: wait and retry, or refuse
    REUSED = "REUSED"  # same key, different request: refuse, change nothing
    EXPIRED_EXECUTE = "EXPIRED_EXECUTE"  # key older than KEY_TTL: run as new, replacing the old row


def validate_key(key: str) -> None:
    """InvalidInput for an empty (or blank) key or one longer than MAX_KEY_LENGTH."""
    if not key.strip():
        raise InvalidInput("The idempotency key must not be empty.", _KEY_FIELD)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"The idempotency key may be at most {MAX_KEY_LENGTH} characters.", _KEY_FIELD)


def decide(
    stored: StoredKey | None, fingerprint: str, now: datetime, lock_timeout: timedelta = LOCK_TIMEOUT
) -> Decision:
    """What to do with a request carrying a key whose stored state is ``stored``.

    ``lock_timeout`` is the age past which a lock is a crashed request's (settings may shorten it).
    """
    if stored is None:
        return Decision.EXECUTE
    if now - stored.created_at > KEY_TTL:
        return Decision.EXPIRED_EXECUTE
    if stored.fingerprint != fingerprint:
        return Decision.REUSED
    if stored.response is not None:
        return Decision.REPLAY
    if stored.locked_at is not None and now - stored.locked_at <= lock_timeout:
        return Decision.IN_USE
    # Locked by a request that died, or unlocked with work left: pick it up.
    return Decision.RESUME


def request_fingerprint(operation: str, arguments: Mapping[str, Any], *, key: bytes = b"") -> str:
    """SHA-256 hex of the canonical JSON of the operation and its arguments.

    Card numbers and CVCs are hashed first (numbers without their spaces, so
    one card typed two ways is one request). Pass the server's ``key`` to make
    those hashes keyed: an unkeyed hash of a card number can be brute-forced.
    """
    return hashlib.sha256(_canonical_json({"operation": operation, "arguments": _redacted(arguments, key)})).hexdigest()


# orjson writes the bytes json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# writes, for what it is told to take: dicts with string keys (sorted by code point either way),
# lists, strings (the same escapes), ints within 64 bits, bools and None; a create's fingerprint
# then takes 2.7 µs instead of 4.9. Anything else (floats, wrapped by _redacted since their
# spelling differs in places, subclasses such as enums, dates, decimals, bigger ints, deeper
# nesting) makes it raise TypeError, and json.dumps writes the whole document, as it always did:
# fingerprints stored before stay valid. tests/unit/test_idempotency.py compares the two.
_ORJSON_CANONICAL: Final = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


class _Float(float):
    """A float orjson refuses (a subclass): json.dumps spells it as the float it is."""


def _canonical_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_ORJSON_CANONICAL)
    except TypeError:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
        return text.encode()


def _redacted(value: Any, key: bytes) -> Any:
    if isinstance(value, Mapping):
        return {
            str(name): _hashed(item, key) if name in SENSITIVE_ARGUMENTS else _redacted(item, key)
            for name, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item, key) for item in value]
    if isinstance(value, float):
        return _Float(value)
    return value


def _hashed(value: Any, key: bytes) -> str:
    text = normalize_number(value) if isinstance(value, str) else json.dumps(value, default=_json_default)
    if key:
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest()


def _json_default(value: object) -> object:
    # Input objects reach here as enums, dates and decimals as well as JSON types.
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot fingerprint a value of type {type(value).__name__}")
