"""Relay cursors and page arguments.

Cursors are opaque base64 of (created_at, id): keyset pagination, stable under inserts.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import strawberry

from nexus.domain.errors import InvalidInput

# API.md: `first` ≤ 100; larger pages would let one request hold a connection too long.
MAX_PAGE = 100


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def encode_cursor(created_at: datetime, object_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{object_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        stamp, object_id = raw.split("|", 1)
        moment = datetime.fromisoformat(stamp)
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidInput("`after` is not a cursor returned by this API", ["after"]) from None
    if moment.tzinfo is None:
        raise InvalidInput("`after` is not a cursor returned by this API", ["after"])
    return moment, object_id


def check_first(first: int) -> int:
    if first < 0 or first > MAX_PAGE:
        raise InvalidInput(f"`first` must be between 0 and {MAX_PAGE}", ["first"])
    return first


def page_info(rows_count: int, first: int, cursors: list[str], after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=rows_count > first,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
