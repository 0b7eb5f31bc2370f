"""Random identifiers and secrets, from the OS's CSPRNG (``secrets``)."""

from __future__ import annotations

import secrets
import string

# Alphanumeric only, like Stripe's ids: they survive double-clicks, URLs and `_` splitting.
_ID_ALPHABET = string.ascii_letters + string.digits
# 24 base-62 characters are ~143 random bits: unguessable, so an id alone never grants
# access, and collision-free in practice.
_ID_RANDOM_CHARS = 24
# Bytes read per id. Each random byte below 248 (4 × 62) becomes one character, the byte
# modulo 62, so every character is equally likely; bytes 248-255 are dropped (rejection
# sampling: no bias at all). 32 bytes leave fewer than 24 characters about once in a million
# ids, and then more are read.
_ID_ENTROPY_BYTES = 32
_ACCEPTED_BYTES = 4 * len(_ID_ALPHABET)
_BYTE_TO_CHAR = bytes(ord(_ID_ALPHABET[b % len(_ID_ALPHABET)]) if b < _ACCEPTED_BYTES else 0 for b in range(256))
_REJECTED_BYTES = bytes(range(_ACCEPTED_BYTES, 256))

# 32 bytes = 256 bits, the strength of the AES-256/HMAC-SHA256 keys they sit beside.
DEFAULT_SECRET_BYTES = 32


def new_id(prefix: str) -> str:
    """A new object id such as ``pi_3kZ...`` (prefix, underscore, 24 random chars)."""
    if not prefix.isascii() or not prefix.isalnum():
        raise ValueError("an id prefix is a short ASCII word such as 'pi'")
    # One CSPRNG read (24 secrets.choice calls were 24 getrandom syscalls: ~4 % of a create's
    # CPU), mapped to characters by one bytes.translate: 0.8 µs an id, against 2.6 µs when a
    # 256-bit integer was spelled in base 62 with divmod.
    chars = b""
    while len(chars) < _ID_RANDOM_CHARS:
        chars += secrets.token_bytes(_ID_ENTROPY_BYTES).translate(_BYTE_TO_CHAR, _REJECTED_BYTES)
    return prefix + "_" + chars[:_ID_RANDOM_CHARS].decode("ascii")


def new_secret(nbytes: int = DEFAULT_SECRET_BYTES) -> str:
    """A URL-safe random secret of ``nbytes`` bytes of entropy (keys, client secrets)."""
    if nbytes < 16:
        # Below 128 bits a secret could be brute-forced online at scale.
        raise ValueError("a secret needs at least 16 random bytes")
    return secrets.token_urlsafe(nbytes)
