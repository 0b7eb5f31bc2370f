"""The stored replay answers' table (nexus/schema/replay_responses.py): lookups, expiry, bounds,
and the hash() pre-check that spares every other request its SHA-256 digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nexus.schema.replay_responses import StoredResponse, StoredResponses

AT = datetime(2026, 11, 29, tzinfo=UTC)


def entry(request_body: bytes, key_id: str = "key_1", ttl: timedelta = timedelta(hours=1)) -> StoredResponse:
    return StoredResponse(key_id, AT + ttl, b'{"data":{}}', hash(request_body))


def test_a_stored_answer_is_given_to_its_key_only() -> None:
    table = StoredResponses(4)
    table.put("d1", entry(b"body-1"))
    assert table.get("d1", "key_1", AT) == b'{"data":{}}'
    assert table.get("d1", "key_2", AT) is None
    assert table.get("d2", "key_1", AT) is None


def test_only_the_bodies_of_stored_answers_may_be_answered() -> None:
    table = StoredResponses(4)
    assert not table.may_answer(b"body-1")
    table.put("d1", entry(b"body-1"))
    assert table.may_answer(b"body-1")
    assert not table.may_answer(b"body-2")


def test_an_expired_answer_is_dropped_with_its_body() -> None:
    table = StoredResponses(4)
    table.put("d1", entry(b"body-1", ttl=timedelta(seconds=1)))
    assert table.get("d1", "key_1", AT + timedelta(seconds=1)) is None
    assert table.holds("d1") is None
    assert not table.may_answer(b"body-1")


def test_the_least_recently_used_answer_goes_first_with_its_body() -> None:
    table = StoredResponses(2)
    table.put("d1", entry(b"body-1"))
    table.put("d2", entry(b"body-2"))
    assert table.get("d1", "key_1", AT) is not None  # d1 used: d2 is now the oldest
    table.put("d3", entry(b"body-3"))
    assert table.holds("d2") is None and not table.may_answer(b"body-2")
    assert table.may_answer(b"body-1") and table.may_answer(b"body-3")


def test_one_body_stored_twice_stays_answerable_until_both_are_gone() -> None:
    # The same bytes under two Accept headers are two digests with one body.
    table = StoredResponses(4)
    table.put("json", entry(b"body-1"))
    table.put("other", entry(b"body-1", key_id="key_2"))
    table.put("json", entry(b"body-1"))  # stored again (a concurrent replay): still two entries
    table.get("json", "key_1", AT + timedelta(hours=2))  # expired: dropped
    assert table.may_answer(b"body-1")
    table.get("other", "key_2", AT + timedelta(hours=2))
    assert not table.may_answer(b"body-1")
