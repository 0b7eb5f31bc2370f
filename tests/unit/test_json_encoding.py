"""orjson for jsonb parameters and responses, json.dumps for what orjson refuses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from nexus.json_encoding import json_bytes, json_text


class Status(StrEnum):
    CREATED = "CREATED"


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [True, None, 2.5], "c": {"d": "é ✓ \U0001f600"}},
        {"big": 2**70, "small": -(2**70)},  # beyond 64 bits: json.dumps takes it
        {1: "int key"},  # json.dumps makes it "1"
        {"status": Status.CREATED},  # a str subclass: json.dumps spells its value
        [],
    ],
)
def test_same_json_as_json_dumps(value: object) -> None:
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))
    assert json.loads(json_bytes(value)) == json.loads(json.dumps(value))


def test_responses_are_compact_utf8() -> None:
    assert json_bytes({"data": {"x": "é"}}) == '{"data":{"x":"é"}}'.encode()


@dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [{"at": datetime(2026, 1, 1, tzinfo=UTC)}, {"p": Point(1)}])
def test_what_json_dumps_refuses_is_still_refused(value: object) -> None:
    with pytest.raises(TypeError):
        json_text(value)
    with pytest.raises(TypeError):
        json_bytes(value)
