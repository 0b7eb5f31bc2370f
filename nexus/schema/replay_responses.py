"""Replays of keyed mutations answered from the stored HTTP response bytes (Stripe's way).

Why: a repeat of a finished idempotent mutation already gets its payload from the replay
cache (nexus/services/idempotency.py), but parsing, GraphQL execution and the `clientSecret`
read still cost about a millisecond of CPU per repeat. A replay's answer is a pure function
of the finished key, so the first replay (the second request) stores its bytes and later identical
requests get them back without GraphQL.

Invariants:

- Stored only after a plain JSON POST whose document has one operation, a mutation with one
  root field from KEYED_MUTATIONS, selecting only fields fixed for a finished key (FIXED_*, all in
  `replay_shape`:
  the payload's `idempotentReplayed` / `userErrors` and the stored snapshot's scalars, never
  `attempts`, `refunds` or `events`, which resolve live), no directives; and only when the
  answer has no `errors`, `idempotentReplayed: true` and empty `userErrors`. The first
  execution answers `false`, so it is never stored; replays are identical to each other.
- Keyed by the caller's API key id (never the key) and the SHA-256 of the exact body bytes
  plus the Content-Type and Accept headers (they choose Strawberry's transport). A different
  body (another amount: IDEMPOTENCY_KEY_REUSED), another key or merchant, misses.
- A hit still authenticates (`authenticate_cached`, the rate limiter): a refusal, or any
  doubt, falls through to the normal path, which answers exactly as without this cache.
- An entry ends when its idempotency key expires (created_at + KEY_TTL, read from the key's
  row when stored): after that the key may run again and answer differently.
- Per process, bounded (LRU), never persisted, never logged: bodies hold the client secret.
- Only a request whose body has the built-in hash() of a stored entry's request body is digested
  and looked up; any other has no stored answer (a different body is a different digest).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from nexus.db.uow import UnitOfWork
from nexus.domain.idempotency import KEY_TTL
from nexus.observability import GRAPHQL_PATHS
from nexus.schema.context import Context
from nexus.schema.replay_shape import answer_is_replay, replay_shape
from nexus.services.auth import Principal, authenticate_cached
from nexus.services.records import now
from nexus.state import AppState

log = logging.getLogger("nexus.graphql")

# A storm repeats a handful of keys at once; 2,000 hot (key, body) pairs per process is far more, and
# with MAX_STORED_BODY_BYTES bounds the cache at ~16 MB even if every body were that large (a
# typical replay answer is ~400 bytes: under 1 MB in all).
MAX_ENTRIES: Final = 2_000
# Larger answers (metadata near Stripe's 50 × 500-character cap) are rare: they just run normally.
MAX_STORED_BODY_BYTES: Final = 8 * 1024
# Request bodies this large are never cacheable documents (ours are < 1 KB; metadata up to ~27 KB);
# skipping them keeps every other large POST from being hashed.
MAX_REQUEST_BYTES: Final = 32 * 1024


@dataclass(frozen=True)
class StoredResponse:
    key_id: str
    expires_at: datetime  # the idempotency key's created_at + KEY_TTL
    body: bytes
    request_hash: int  # hash() of the request body it answers (see StoredResponses.may_answer)


class StoredResponses:
    """(API key id, request digest) → response bytes, least recently used dropped first."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        # One entry per digest: two keys sending byte-identical bodies (same idempotency key string
        # in two merchants) keep the latest; the other misses and runs normally.
        self._entries: OrderedDict[str, StoredResponse] = OrderedDict()
        # hash() of the request body of each entry, counted: a request whose body is not among them
        # has no stored answer, so its SHA-256 digest is not computed (a per-request cost, ~2 % of a
        # create's API CPU, for every request but replays).
        self._bodies: Counter[int] = Counter()

    def may_answer(self, request_body: bytes) -> bool:
        """False if no entry answers a request with this body; True if one may (same hash())."""
        return hash(request_body) in self._bodies

    def get(self, digest: str, key_id: str, at: datetime) -> bytes | None:
        entry = self._entries.get(digest)
        if entry is None or entry.key_id != key_id:
            return None
        if at >= entry.expires_at:
            self._drop(digest)  # the key expired: it may run again
            return None
        self._entries.move_to_end(digest)
        return entry.body

    def holds(self, digest: str) -> str | None:
        """The key id whose answer is stored for this digest, if any."""
        entry = self._entries.get(digest)
        return None if entry is None else entry.key_id

    def put(self, digest: str, entry: StoredResponse) -> None:
        if digest in self._entries:
            self._drop(digest)
        self._entries[digest] = entry
        self._bodies[entry.request_hash] += 1
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, digest: str) -> None:
        entry = self._entries.pop(digest)
        left = self._bodies[entry.request_hash] - 1
        if left:
            self._bodies[entry.request_hash] = left
        else:
            del self._bodies[entry.request_hash]


STORED = StoredResponses(MAX_ENTRIES)
STORED_PATH: Final = GRAPHQL_PATHS.labels("stored")

Execute = Callable[[], Awaitable[Response]]


async def respond(state: AppState | None, request: Request, execute: Execute) -> Response:
    """Answer a GraphQL HTTP request from a stored replay, or run it (and store it if it qualifies)."""
    if state is None or request.method != "POST":
        return await execute()
    body = await request.body()  # Starlette keeps it: the view reads the same bytes
    if len(body) > MAX_REQUEST_BYTES:
        return await execute()
    digest = None
    if STORED.may_answer(body):
        digest = request_digest(request, body)
        if STORED.holds(digest) is not None:
            stored = await _stored_answer(state, request, digest)
            if stored is not None:
                STORED_PATH.inc()
                return Response(stored, status_code=200, media_type="application/json")
    started = now()
    response = await execute()
    try:
        await _maybe_store(state, request, body, digest, response, started)
    except Exception as error:  # storing is an optimisation: the answer goes out regardless
        log.warning("replay response not stored: %s", type(error).__name__)  # never the body: it holds secrets
    return response


def request_digest(request: Request, body: bytes) -> str:
    """SHA-256 of the body and of the headers that choose Strawberry's transport (JSON or a stream)."""
    sha = hashlib.sha256()
    for name in ("content-type", "accept"):
        sha.update("\n".join(request.headers.getlist(name)).encode("latin-1", "replace"))
        sha.update(b"\0")
    sha.update(body)
    return sha.hexdigest()


async def _stored_answer(state: AppState, request: Request, digest: str) -> bytes | None:
    """The stored bytes if this caller may have them now; None sends the request down the normal path."""
    context = Context(state=state, request=request)
    try:
        principal = await authenticate_cached(state.sessions, context.api_key())
    except Exception:  # revoked, unknown, database down: the normal path gives its usual answer
        return None
    stored = STORED.get(digest, principal.key_id, now())
    # Only now take a token, as Context.principal() would: a refusal runs the normal path, which
    # refuses again (a refused check takes no token), so every request is counted once.
    if stored is None or state.rate_limiter.check(principal.key_id) > 0:
        return None
    return stored


async def _maybe_store(
    state: AppState, request: Request, body: bytes, digest: str | None, response: Response, started: datetime
) -> None:
    if not _plain_replay_answer(response):
        return
    shape = replay_shape(body)
    if shape is None or not answer_is_replay(bytes(response.body), shape):
        return
    if digest is None:
        digest = request_digest(request, body)
    principal = await authenticate_cached(state.sessions, Context(state=state, request=request).api_key())
    if STORED.holds(digest) == principal.key_id:
        return  # a concurrent replay stored it already
    expires_at = await _key_expiry(state, principal, shape.idempotency_key, started)
    if expires_at is not None and now() < expires_at:
        STORED.put(digest, StoredResponse(principal.key_id, expires_at, bytes(response.body), hash(body)))


def _plain_replay_answer(response: Response) -> bool:
    """A complete JSON answer (not a stream) that may say `"idempotentReplayed":true`."""
    return (
        type(response) is Response
        and response.status_code == 200
        and response.media_type == "application/json"
        and len(response.body) <= MAX_STORED_BODY_BYTES
        and b'"idempotentReplayed":true' in response.body
    )


async def _key_expiry(state: AppState, principal: Principal, key: str, started: datetime) -> datetime | None:
    """When the finished idempotency key stops replaying (the keyed mutations' scope is the merchant).

    None if the row is not the one the answer replayed: a key created after the request started was
    restarted (it had expired) while the request replayed the old answer.
    """
    async with UnitOfWork(state.sessions, driver_only=True) as uow:
        stored = await uow.idempotency.get(principal.merchant_id, key)
    if stored is None or stored.response is None or stored.created_at > started:
        return None
    return stored.created_at + KEY_TTL
