"""Random ids and secrets."""

from __future__ import annotations

import re

import pytest

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
