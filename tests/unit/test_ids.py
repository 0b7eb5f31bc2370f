"""Random ids and secrets."""

from __future__ import annotations

import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

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


def test_bytes_beyond_the_last_whole_alphabet_are_never_used() -> None:
    reads = iter([bytes([255, 250, 248]) * 10 + b"AB", bytes(range(40))])
    characters = ids.IdCharacters(read=lambda n: next(reads))
    # 'A' (65) and 'B' (66) are the first characters; bytes 248-255 gave nothing; then the next
    # read's bytes 0, 1, … in turn.
    expected = "".join(ids._ID_ALPHABET[b % 62] for b in [65, 66, *range(22)])
    assert characters.take(24) == expected


def test_each_character_read_is_handed_out_once_and_in_order() -> None:
    sizes: list[int] = []

    def read(n: int) -> bytes:
        sizes.append(n)
        return bytes(range(len(sizes) * 10, len(sizes) * 10 + 30))  # 30 characters per read

    characters = ids.IdCharacters(read=read)
    taken = [characters.take(24) for _ in range(5)]  # 120 characters: four reads
    assert "".join(taken) == "".join(ids._ID_ALPHABET[b % 62] for r in range(1, 5) for b in range(r * 10, r * 10 + 30))
    assert sizes == [ids._READ_BYTES] * 4


def test_ids_from_many_threads_never_repeat() -> None:
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: [new_id("pi") for _ in range(500)], range(8)))
    assert len({i for batch in made for i in batch}) == 4000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id("pi")  # the parent holds characters it has not handed out yet
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, "".join(new_id("pi") for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read, "rb") as pipe:
        childs = pipe.read().decode()
    parents = "".join(new_id("pi") for _ in range(50))
    assert childs and childs != parents
    assert not {childs[i : i + 27] for i in range(0, len(childs), 27)} & {
        parents[i : i + 27] for i in range(0, len(parents), 27)
    }


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
