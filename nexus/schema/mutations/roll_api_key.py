"""rollApiKey: a new key of a kind; the current ones live `expireCurrentInSeconds` more.

Errors: INVALID_INPUT (expireCurrentInSeconds out of range).
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from nexus.domain.errors import DomainError
from nexus.schema.context import Context
from nexus.schema.errors import UserError
from nexus.schema.mutations.payloads import guarded
from nexus.schema.types.merchant import ApiKeyKind
from nexus.services import merchants


@strawberry.input
class RollApiKeyInput:
    kind: ApiKeyKind
    expire_current_in_seconds: int = 0


@strawberry.type
class RollApiKeyPayload:
    key: str | None = strawberry.field(description="Shown this once.")
    user_errors: list[UserError]

    @classmethod
    def failed(cls, error: DomainError) -> RollApiKeyPayload:
        return cls(key=None, user_errors=[UserError.from_domain(error)])


async def roll_api_key(info: Info[Context, None], input: RollApiKeyInput) -> RollApiKeyPayload:
    principal = await info.context.principal()
    principal.require_secret()

    async def run() -> RollApiKeyPayload:
        key = await merchants.roll_api_key(
            info.context.state.sessions,
            principal.merchant_id,
            input.kind.value,
            input.expire_current_in_seconds,
        )
        return RollApiKeyPayload(key=key, user_errors=[])

    return await guarded(RollApiKeyPayload.failed, run)
