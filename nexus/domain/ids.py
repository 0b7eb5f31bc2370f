"""Random identifiers and secrets, from the OS's CSPRNG (``secrets``)."""

from __future__ import annotations

import secrets
import string

# Alphanumeric only, like Stripe's ids: they survive double-clicks, URLs and `_` splitting.
_ID_ALPHABET = string.ascii_letters + string.digits
# 24 base-62 characters are ~143 random bits: unguessable, so an id alone never grants
# access, and collision-free in practice.
_ID_RANDOM_CHARS = 24
# Bytes read per id: far more than the 143 bits used, so reducing them to base 62 is unbiased in practice.
_ID_ENTROPY_BYTES = 32

# 32 bytes = 256 bits, the strength of the AES-256/HMAC-SHA256 keys they sit beside.
DEFAULT_SECRET_BYTES = 32


def new_id(prefix: str) -> str:
    """A new object id such as ``pi_3kZ...`` (prefix, underscore, 24 random chars)."""
    if not prefix.isascii() or not prefix.isalnum():
        raise ValueError("an id prefix is a short ASCII word such as 'pi'")
    # One CSPRNG read, spelled in base 62 (24 secrets.choice calls were 24 getrandom syscalls:
    # ~4 % of a create's CPU). 256 random bits modulo 62**24 leave a bias below 2**-110.
    n = int.from_bytes(secrets.token_bytes(_ID_ENTROPY_BYTES))
    chars = []
    for _ in range(_ID_RANDOM_CHARS):
        n, digit = divmod(n, 62)
        chars.append(_ID_ALPHABET[digit])
    return prefix + "_" + "".join(chars)


def new_secret(nbytes: int = DEFAULT_SECRET_BYTES) -> str:
    """A URL-safe random secret of ``nbytes`` bytes of entropy (keys, client secrets)."""
    if nbytes < 16:
        # Below 128 bits a secret could be brute-forced online at scale.
        raise ValueError("a secret needs at least 16 random bytes")
    return secrets.token_urlsafe(nbytes)
