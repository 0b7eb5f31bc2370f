"""Random ids and secrets."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from nexus.domain import ids
from nexus.domain.ids import new_id, new_secret

ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")
URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_ids_are_prefix_underscore_24_alphanumeric_chars() -> None:
    value = new_id("evt")
    prefix, _, random_part = value.partition("_")
    assert prefix == "evt"
    assert len(random_part) == 24
    assert ALPHANUMERIC.fullmatch(random_part)


def test_ids_do_not_repeat() -> None:
    assert len({new_id("pi") for _ in range(1000)}) == 1000


def test_every_id_character_is_equally_likely() -> None:
    # The bytes that become characters: each of the 62 characters from exactly four of them,
    # and every other byte dropped.
    kept = bytes(range(256)).translate(ids._BYTE_TO_CHAR, ids._REJECTED_BYTES)
    assert len(kept) == 248
    assert Counter(kept.decode()) == dict.fromkeys(ids._ID_ALPHABET, 4)


def test_bytes_beyond_the_last_whole_alphabet_are_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = iter([bytes([255, 250, 248]) * 10 + b"AB", bytes(range(40))])
    monkeypatch.setattr(ids.secrets, "token_bytes", lambda n: next(reads))
    # 'A' (65) and 'B' (66) are the first characters; bytes 248-255 gave nothing; then the next
    # read's bytes 0, 1, … in turn.
    expected = "".join(ids._ID_ALPHABET[b % 62] for b in [65, 66, *range(22)])
    assert new_id("pi") == "pi_" + expected


@pytest.mark.parametrize("prefix", ["", "p i", "pi_", "π"])
def test_odd_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        new_id(prefix)


def test_secrets_are_url_safe_and_long() -> None:
    secret = new_secret()
    assert URL_SAFE.fullmatch(secret)
    assert len(secret) == 43  # 32 bytes in unpadded base64
    assert len(new_secret(48)) == 64
    assert new_secret() != secret


def test_weak_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="16"):
        new_secret(15)
