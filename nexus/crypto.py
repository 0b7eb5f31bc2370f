"""AES-256-GCM for secrets at rest (webhook secrets, in-flight card numbers), and key hashing."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# 96-bit nonces are what GCM is specified for; random ones are safe far past our volumes.
NONCE_BYTES = 12


class Cipher:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        # A separate key for card fingerprints, derived so one master key suffices.
        self.fingerprint_key = hmac.new(key, b"nexus card fingerprint", hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)

    def __repr__(self) -> str:
        return "Cipher(<hidden>)"


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
