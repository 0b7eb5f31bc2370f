"""Webhook signatures: Nexus's Stripe-style header and Standard Webhooks.

Every delivery carries both schemes (API.md § Events and webhooks) so that a
merchant can verify with Stripe-like code or with any Standard Webhooks
library. Both sign the exact bytes sent on the wire, never a re-serialization:
a receiver that parses and re-dumps JSON would otherwise get another string.

Pure functions, no I/O: the dispatcher signs, `nexus listen` and the tests verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"
# 32 bytes = 256 bits, the output size of SHA-256: a longer HMAC key adds no
# strength, a shorter one lowers it. It is also what API.md promises merchants.
SECRET_BYTES = 32
# Stripe's and Standard Webhooks' replay window: an intercepted delivery can be
# replayed for at most 5 minutes, while ordinary clock skew and the time spent
# in queues and retries before the request leaves still pass.
TOLERANCE_SECONDS = 300

NEXUS_SIGNATURE_HEADER = "X-Nexus-Signature"
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
_STANDARD_HEADERS = (WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_SIGNATURE_HEADER)
USER_AGENT = "NexusGateway-Webhooks/1.0"
# The only signature version of both schemes; receivers skip versions they do
# not know, so a future "v2" can be added beside it without breaking anyone.
SIGNATURE_VERSION = "v1"


class SignatureVerificationError(Exception):
    """A delivery's signature headers are missing, malformed, stale or wrong.

    Messages say what failed, never the secret or the expected signature.
    """


def new_webhook_secret() -> str:
    """A fresh endpoint secret, shown to the merchant once."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key inside a `whsec_…` secret. ValueError if it is malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret must start with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        # `from None`: the chained error would quote the secret's characters.
        raise ValueError("webhook secret is not valid base64 after the prefix") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(body: bytes, event_id: str, timestamp: int, secrets: Sequence[str]) -> dict[str, str]:
    """Headers for one delivery of `body`, one signature per live secret (rotation)."""
    if not secrets:
        raise ValueError("at least one webhook secret is needed to sign")
    keys = [secret_key_bytes(secret) for secret in secrets]
    nexus = [f"{SIGNATURE_VERSION}={_nexus_signature(key, timestamp, body)}" for key in keys]
    standard = [f"{SIGNATURE_VERSION},{_standard_signature(key, event_id, timestamp, body)}" for key in keys]
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        NEXUS_SIGNATURE_HEADER: ",".join([f"t={timestamp}", *nexus]),
        WEBHOOK_ID_HEADER: event_id,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: " ".join(standard),
    }


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = TOLERANCE_SECONDS,
    now: int | None = None,
) -> None:
    """Raise SignatureVerificationError unless `body` was signed with `secret`.

    Each scheme present is verified, and all present must pass: accepting a
    delivery on its weaker half would let a forged header pass. At least one
    scheme must be present. A malformed `secret` is a configuration error and
    raises ValueError.
    """
    key = secret_key_bytes(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    current = int(time.time()) if now is None else now
    nexus_header = lowered.get(NEXUS_SIGNATURE_HEADER.lower())
    has_standard = any(name in lowered for name in _STANDARD_HEADERS)
    if nexus_header is None and not has_standard:
        raise SignatureVerificationError(
            f"missing signature headers: neither {NEXUS_SIGNATURE_HEADER} nor webhook-signature"
        )
    if nexus_header is not None:
        _verify_nexus(body, nexus_header, key, tolerance, current)
    if has_standard:
        _verify_standard(body, lowered, key, tolerance, current)


def _nexus_signature(key: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _standard_signature(key: bytes, event_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _verify_nexus(body: bytes, header: str, key: bytes, tolerance: int, now: int) -> None:
    raw_timestamp, candidates = _parse_nexus_header(header)
    timestamp = _checked_timestamp(raw_timestamp, tolerance, now)
    if not _any_matches(_nexus_signature(key, timestamp, body), candidates):
        raise SignatureVerificationError(f"no {NEXUS_SIGNATURE_HEADER} signature matches the body")


def _parse_nexus_header(header: str) -> tuple[str, list[str]]:
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == SIGNATURE_VERSION:
            candidates.append(value)
    if len(timestamps) != 1 or not candidates:
        raise SignatureVerificationError(f"malformed {NEXUS_SIGNATURE_HEADER} header")
    return timestamps[0], candidates


def _verify_standard(body: bytes, headers: Mapping[str, str], key: bytes, tolerance: int, now: int) -> None:
    missing = [name for name in _STANDARD_HEADERS if not headers.get(name)]
    if missing:
        raise SignatureVerificationError(f"missing header(s): {', '.join(missing)}")
    event_id = headers[WEBHOOK_ID_HEADER]
    timestamp = _checked_timestamp(headers[WEBHOOK_TIMESTAMP_HEADER], tolerance, now)
    candidates = _standard_candidates(headers[WEBHOOK_SIGNATURE_HEADER])
    if not _any_matches(_standard_signature(key, event_id, timestamp, body), candidates):
        raise SignatureVerificationError("no webhook-signature signature matches the body")


def _standard_candidates(header: str) -> list[str]:
    # "v1,<sig> v1,<sig>": space-separated, version before the comma.
    entries = (entry.partition(",") for entry in header.split())
    return [signature for version, _, signature in entries if version == SIGNATURE_VERSION]


def _checked_timestamp(raw: str, tolerance: int, now: int) -> int:
    # isascii: str.isdigit alone accepts digits like "²" that int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        raise SignatureVerificationError("signature timestamp is not a unix time in seconds")
    timestamp = int(raw)
    if now - timestamp > tolerance:
        raise SignatureVerificationError(f"signature timestamp is more than {tolerance} s old")
    if timestamp - now > tolerance:
        raise SignatureVerificationError(f"signature timestamp is more than {tolerance} s in the future")
    return timestamp


def _any_matches(expected: str, candidates: Sequence[str]) -> bool:
    # Constant-time per comparison, so timing does not reveal how many leading
    # characters of a forged signature were right. Bytes, because
    # compare_digest refuses non-ASCII str and a header may hold anything.
    expected_bytes = expected.encode()
    return any(hmac.compare_digest(expected_bytes, candidate.encode()) for candidate in candidates)
