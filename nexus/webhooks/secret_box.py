"""Endpoint secrets at rest: AES-256-GCM under the master key, bound to their endpoint.

The endpoint id is the associated data, so a ciphertext copied onto another
endpoint's row fails to decrypt instead of signing that endpoint's deliveries.
"""

from __future__ import annotations

from nexus.crypto import Cipher


def seal(cipher: Cipher, endpoint_id: str, secret: str) -> bytes:
    return cipher.encrypt(secret.encode(), endpoint_id.encode())


def unseal(cipher: Cipher, endpoint_id: str, ciphertext: bytes) -> str:
    return cipher.decrypt(ciphertext, endpoint_id.encode()).decode()
