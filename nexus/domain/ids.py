"""Random identifiers and secrets, from the OS's CSPRNG: ids from 4 KiB reads (`IdCharacters`),
each secret a read of its own."""

from __future__ import annotations

import os
import secrets
import string
import threading
from collections.abc import Callable

# Alphanumeric only, like Stripe's ids: they survive double-clicks, URLs and `_` splitting.
_ID_ALPHABET = string.ascii_letters + string.digits
# 24 base-62 characters are ~143 random bits: unguessable, so an id alone never grants
# access, and collision-free in practice.
_ID_RANDOM_CHARS = 24
# Each random byte below 248 (4 × 62) becomes one character, the byte modulo 62, so every
# character is equally likely; bytes 248-255 are dropped (rejection sampling: no bias at all).
_ACCEPTED_BYTES = 4 * len(_ID_ALPHABET)
_BYTE_TO_CHAR = bytes(ord(_ID_ALPHABET[b % len(_ID_ALPHABET)]) if b < _ACCEPTED_BYTES else 0 for b in range(256))
_REJECTED_BYTES = bytes(range(_ACCEPTED_BYTES, 256))

# Bytes read from the OS's CSPRNG at a time for id characters: ~160 ids' worth. One read per id
# was a getrandom system call per id, two per create (~2 % of its CPU, bench/README.md fix 50);
# 4 KiB makes that one per ~80 creates and keeps at most 4 KiB of unused randomness in memory.
# Secrets are not drawn from it: each is a read of its own (`new_secret`).
_READ_BYTES = 4096

# 32 bytes = 256 bits, the strength of the AES-256/HMAC-SHA256 keys they sit beside.
DEFAULT_SECRET_BYTES = 32


class IdCharacters:
    """Random id characters, each handed out once: one CSPRNG read is mapped to characters by
    one bytes.translate and handed out in order until it runs out."""

    def __init__(self, read: Callable[[int], bytes] = os.urandom) -> None:
        self._read = read
        self._lock = threading.Lock()  # two threads must never be handed the same characters
        self._chars = ""
        self._at = 0

    def take(self, count: int) -> str:
        with self._lock:
            taken = self._chars[self._at : self._at + count]
            self._at += count
            while len(taken) < count:
                self._chars = self._read(_READ_BYTES).translate(_BYTE_TO_CHAR, _REJECTED_BYTES).decode("ascii")
                self._at = count - len(taken)
                taken += self._chars[: self._at]
            return taken

    def forget(self) -> None:
        """In a forked child: what the parent still holds would be handed out twice."""
        self._lock = threading.Lock()
        self._chars, self._at = "", 0


_CHARACTERS = IdCharacters()
os.register_at_fork(after_in_child=_CHARACTERS.forget)


def new_id(prefix: str) -> str:
    """A new object id such as ``pi_3kZ...`` (prefix, underscore, 24 random chars)."""
    if not prefix.isascii() or not prefix.isalnum():
        raise ValueError("an id prefix is a short ASCII word such as 'pi'")
    return prefix + "_" + _CHARACTERS.take(_ID_RANDOM_CHARS)


def new_secret(nbytes: int = DEFAULT_SECRET_BYTES) -> str:
    """A URL-safe random secret of ``nbytes`` bytes of entropy (keys, client secrets)."""
    if nbytes < 16:
        # Below 128 bits a secret could be brute-forced online at scale.
        raise ValueError("a secret needs at least 16 random bytes")
    return secrets.token_urlsafe(nbytes)
