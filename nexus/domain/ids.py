"""Random identifiers and secrets, from the OS's CSPRNG (``secrets``)."""

from __future__ import annotations

import secrets

# 18 random bytes encode to exactly 24 URL-safe base64 characters (144 bits):
# unguessable, so an id alone never grants access, and collision-free in practice.
_ID_RANDOM_BYTES = 18

# 32 bytes = 256 bits, the strength of the AES-256/HMAC-SHA256 keys they sit beside.
DEFAULT_SECRET_BYTES = 32


def new_id(prefix: str) -> str:
    """A new object id such as ``pi_3kZ...`` (prefix, underscore, 24 random chars)."""
    if not prefix.isascii() or not prefix.isalnum():
        raise ValueError("an id prefix is a short ASCII word such as 'pi'")
    return f"{prefix}_{secrets.token_urlsafe(_ID_RANDOM_BYTES)}"


def new_secret(nbytes: int = DEFAULT_SECRET_BYTES) -> str:
    """A URL-safe random secret of ``nbytes`` bytes of entropy (keys, client secrets)."""
    if nbytes < 16:
        # Below 128 bits a secret could be brute-forced online at scale.
        raise ValueError("a secret needs at least 16 random bytes")
    return secrets.token_urlsafe(nbytes)
