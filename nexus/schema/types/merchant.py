"""Merchant."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from nexus.db.repositories.merchants import MerchantRecord
from nexus.schema.types.node import Node


@strawberry.type
class Merchant(Node):
    name: str
    email: str
    created_at: datetime

    @classmethod
    def from_record(cls, record: MerchantRecord) -> Merchant:
        return cls(id=strawberry.ID(record.id), name=record.name, email=record.email, created_at=record.created_at)


@strawberry.enum
class ApiKeyKind(Enum):
    SECRET = "secret"
    PUBLISHABLE = "publishable"
