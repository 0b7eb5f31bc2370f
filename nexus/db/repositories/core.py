"""Core statements on the transaction's connection, past the ORM session.

`AsyncSession.execute` treats any statement on a mapped table as ORM-enabled (an
INSERT planned by the bulk-persistence machinery, an UPDATE running the identity-map
synchronizer): about a tenth of a millisecond of CPU per statement, for rows these
repositories return as plain records and never load as ORM objects. Same SQL, same
transaction (the session's connection), same parameters. The hottest statements go
one step further: see `prepared`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.ext.asyncio import AsyncSession


async def run(
    session: AsyncSession,
    statement: Executable,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> CursorResult[Any]:
    connection = await session.connection()
    return await connection.execute(statement, params)
