"""The webhook dispatcher: claim due outbox rows, POST them, record every attempt.

Any number of dispatchers (in `nexus serve` processes and `nexus worker`s) share
one database without sending a delivery twice:

1. Claim (one short transaction): lock due rows with FOR UPDATE SKIP LOCKED,
   push their `next_attempt_at` past a lease (the timeout plus a margin), read
   what the request needs, commit. Other dispatchers now see them as not due.
2. Send, outside any transaction, with the process's one httpx client.
3. Record (one short transaction): the attempt row, and the delivery's new
   state only if `next_attempt_at` still equals our lease (our claim token).

A crash anywhere leaves the rows due again when the lease runs out: nothing is
lost. A crash between send and record resends: that is at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from nexus.db.availability import is_database_unavailable
from nexus.db.repositories.events import EventRecord
from nexus.db.repositories.webhooks import ClaimedDelivery, SecretRow
from nexus.db.uow import UnitOfWork
from nexus.domain import webhook_endpoints as rules
from nexus.domain.events import event_body
from nexus.services.webhook_endpoints import disable_endpoint
from nexus.state import AppState
from nexus.webhooks import metrics, secret_box
from nexus.webhooks.schedule import Decision, Outcome, decide
from nexus.webhooks.signing import sign
from nexus.webhooks.urls import InvalidWebhookUrl, ensure_public_destination
from nexus.webhooks.wakeup import listen_forever

log = logging.getLogger("nexus.dispatcher")

# Rows per claim transaction: locks are held for milliseconds, and 50 rows keep
# the per-claim overhead small at hundreds of deliveries per second.
CLAIM_BATCH = 50
# Requests in flight per process: below the client's 200-connection pool, so a
# claimed delivery never queues for a connection while its lease runs.
MAX_IN_FLIGHT = 100
# Requests in flight per endpoint per process: keeps a healthy endpoint busy
# (10 × ~100 ms answers = 100/s) while one that hangs holds only a tenth of the
# process's slots, so one slow merchant cannot starve the others.
PER_ENDPOINT_IN_FLIGHT = 10
# Lease beyond the request timeout: recording is one short transaction; 5 s
# absorbs a busy pool, yet a crashed dispatcher's rows wait only seconds more.
LEASE_MARGIN_S = 5.0
# New events wake us through LISTEN and due retries through the next-due time,
# so polling only covers lost notifications (reconnects) and other dispatchers'
# expiring leases: once a second bounds that lag at an idle query's cost.
POLL_INTERVAL_S = 1.0
# Smallest wait, so that a row due "now" on a skewed clock cannot spin the loop.
MIN_WAIT_S = 0.01
# After a failed claim (database restarting) wait before trying again.
ERROR_BACKOFF_S = 1.0
# Queue-depth metrics are sampled, not kept exact: every 15 s (a scrape interval).
STATS_EVERY_S = 15.0
# Stored per attempt: enough of a response to debug it, bounded to the column.
RESPONSE_BODY_BYTES = 2048
ERROR_CHARS = 500


@dataclass(frozen=True)
class Job:
    delivery: ClaimedDelivery
    body: bytes
    secrets: list[str]


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str | None
    retry_after: str | None


async def run_dispatcher(state: AppState) -> None:
    """Dispatch until cancelled (the lifespan or `nexus worker` stops it)."""
    await Dispatcher(state).run()


class Dispatcher:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings
        self.wake = asyncio.Event()
        self.in_flight: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()
        self.lease_s = self.settings.webhook_timeout + LEASE_MARGIN_S

    async def run(self) -> None:
        assert self.settings.database_url
        listener = asyncio.create_task(listen_forever(self.settings.database_url, self.wake), name="dispatcher-listen")
        log.info("webhook dispatcher started")
        try:
            await self._loop()
        finally:
            listener.cancel()
            for task in self.tasks:
                task.cancel()
            # Cancelled sends keep their lease: they come due again, nothing is lost.
            await asyncio.gather(listener, *self.tasks, return_exceptions=True)

    async def _loop(self) -> None:
        next_stats = 0.0
        while True:
            self.wake.clear()
            try:
                more = await self._claim_and_send()
                if time.monotonic() >= next_stats:
                    await self._sample_stats()
                    next_stats = time.monotonic() + STATS_EVERY_S
                if more:
                    wait = 0.0
                elif self._room() <= 0:
                    wait = POLL_INTERVAL_S  # a finishing send wakes us
                else:
                    wait = await self._idle_wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # A database outage is expected (restart, failover): one line, not a traceback a second.
                if is_database_unavailable(error):
                    log.warning(
                        "dispatcher: database unavailable (%s); retrying in %.0f s",
                        type(error).__name__,
                        ERROR_BACKOFF_S,
                    )
                else:
                    log.exception("dispatcher claim failed; retrying in %.0f s", ERROR_BACKOFF_S)
                wait = ERROR_BACKOFF_S
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), wait)

    def _room(self) -> int:
        return MAX_IN_FLIGHT - sum(self.in_flight.values())

    def _busy(self) -> list[str]:
        return [endpoint for endpoint, count in self.in_flight.items() if count >= PER_ENDPOINT_IN_FLIGHT]

    async def _claim_and_send(self) -> bool:
        """Claim what we have room for and start sending it; True when more may be due right now."""
        room = self._room()
        if room <= 0:
            return False
        limit = min(room, CLAIM_BATCH)
        seen, jobs = await self._claim(limit)
        for job in jobs:
            self.in_flight[job.delivery.endpoint_id] += 1
            task = asyncio.create_task(self._deliver(job), name=f"deliver-{job.delivery.id}")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return seen >= limit and len(jobs) > 0

    async def _claim(self, limit: int) -> tuple[int, list[Job]]:
        async with UnitOfWork(self.state.sessions) as uow:
            rows = await uow.webhooks.claim_due(limit, self._busy())
            counts = Counter(self.in_flight)
            picked: list[str] = []
            for delivery_id, endpoint_id in rows:
                if counts[endpoint_id] < PER_ENDPOINT_IN_FLIGHT:
                    counts[endpoint_id] += 1
                    picked.append(delivery_id)
            if not picked:
                return len(rows), []
            claimed = await uow.webhooks.lease(picked, self.lease_s)
            events = {e.id: e for e in await uow.events.get_by_ids([c.event_id for c in claimed])}
            secrets = await uow.webhooks.live_secrets(list({c.endpoint_id for c in claimed}))
            await uow.commit()
        return len(rows), [self._job(c, events[c.event_id], secrets) for c in claimed]

    def _job(self, delivery: ClaimedDelivery, event: EventRecord, secrets: list[SecretRow]) -> Job:
        body = event_body(event.id, event.type, event.created_at, event.data["object"], event.idempotency_key)
        encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        plain: list[str] = []
        for row in secrets:
            if row.endpoint_id != delivery.endpoint_id:
                continue
            try:
                plain.append(secret_box.unseal(self.state.cipher, row.endpoint_id, row.ciphertext))
            except Exception:  # a wrong master key: say so, never show the ciphertext
                log.error("cannot decrypt a secret of endpoint %s: is NEXUS_MASTER_KEY right?", row.endpoint_id)
        return Job(delivery=delivery, body=encoded, secrets=plain)

    async def _idle_wait(self) -> float:
        async with UnitOfWork(self.state.sessions) as uow:
            until = await uow.webhooks.seconds_until_next_due(self._busy())
        if until is None:
            return POLL_INTERVAL_S
        return min(max(until, MIN_WAIT_S), POLL_INTERVAL_S)

    async def _sample_stats(self) -> None:
        async with UnitOfWork(self.state.sessions) as uow:
            depth, oldest = await uow.webhooks.queue_stats()
            db_now = await uow.webhooks.database_now()
        metrics.QUEUE_DEPTH.set(depth)
        metrics.OLDEST_DUE_AGE.set((db_now - oldest).total_seconds() if oldest else 0)

    async def _deliver(self, job: Job) -> None:
        endpoint_id = job.delivery.endpoint_id
        try:
            result = await self._attempt(job)
            await self._record(job, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease brings the delivery back; log so the cause is found.
            log.exception("delivery %s could not be completed; it will be retried", job.delivery.id)
        finally:
            self.in_flight[endpoint_id] -= 1
            if self.in_flight[endpoint_id] <= 0:
                del self.in_flight[endpoint_id]
            self.wake.set()

    async def _attempt(self, job: Job) -> AttemptResult:
        timeout = self.settings.webhook_timeout
        if not job.secrets:
            return AttemptResult(None, 0, "no usable signing secret: check NEXUS_MASTER_KEY", None, None)
        headers = sign(job.body, job.delivery.event_id, int(time.time()), job.secrets)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        body: str | None = None
        retry_after: str | None = None
        try:
            # One budget for the address re-check and the request (the lease assumes it).
            async with asyncio.timeout(timeout):
                await ensure_public_destination(job.delivery.url, self.settings.allow_private_webhooks)
                async with self.state.http.stream(
                    "POST", job.delivery.url, content=job.body, headers=headers, timeout=timeout, follow_redirects=False
                ) as response:
                    status = response.status_code
                    retry_after = response.headers.get("retry-after")
                    body = await _read_prefix(response)
        except InvalidWebhookUrl as refused:
            error = f"refused: {refused.message}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"timed out after {timeout:g} s"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:ERROR_CHARS]
        latency = time.perf_counter() - started
        metrics.ATTEMPT_LATENCY.observe(latency)
        return AttemptResult(status, round(latency * 1000), error, body, retry_after)

    async def _record(self, job: Job, result: AttemptResult) -> None:
        delivery = job.delivery
        decision = decide(
            delivery.attempt_count + 1, result.status_code, result.retry_after, self.settings.retry_delays
        )
        status, retry_in = _delivery_state(decision)
        async with UnitOfWork(self.state.sessions) as uow:
            await uow.webhooks.add_attempt(
                delivery.id, result.status_code, result.latency_ms, result.error, result.response_body
            )
            owned = await uow.webhooks.finish_attempt(delivery.id, delivery.lease_until, status, retry_in)
            if owned:
                await self._endpoint_health(uow, delivery.endpoint_id, decision.outcome)
            await uow.commit()
        metrics.ATTEMPTS.labels(decision.outcome.value if result.error is None else "error").inc()
        if owned and status != "pending":
            metrics.DELIVERIES.labels(status).inc()
        if not owned:
            log.warning("delivery %s was re-claimed before its attempt was recorded (lease ran out)", delivery.id)

    async def _endpoint_health(self, uow: UnitOfWork, endpoint_id: str, outcome: Outcome) -> None:
        if outcome is Outcome.SUCCEEDED:
            await uow.webhooks.clear_failing(endpoint_id)
        elif outcome is Outcome.GONE:
            if await disable_endpoint(uow, endpoint_id, rules.REASON_GONE):
                log.info("endpoint %s disabled: it answered 410 Gone", endpoint_id)
        else:
            window = self.settings.endpoint_disable_after_s
            if await uow.webhooks.mark_failing(endpoint_id) >= window:
                reason = rules.REASON_FAILING.format(days=window / 86400)
                if await disable_endpoint(uow, endpoint_id, reason):
                    log.info("endpoint %s disabled: %s", endpoint_id, reason)


def _delivery_state(decision: Decision) -> tuple[str, float | None]:
    """The delivery's status after an attempt and, while pending, seconds until the next."""
    if decision.outcome is Outcome.SUCCEEDED:
        return "succeeded", None
    if decision.outcome is Outcome.RETRY:
        return "pending", decision.delay_s
    return "failed", None


async def _read_prefix(response: httpx.Response) -> str:
    """The start of the response body, for the attempt log; the rest is not even read."""
    buffer = bytearray()
    async for chunk in response.aiter_bytes():
        buffer.extend(chunk)
        if len(buffer) >= RESPONSE_BODY_BYTES:
            break
    # PostgreSQL text cannot hold NUL; a binary answer is stored as its readable part.
    return bytes(buffer[:RESPONSE_BODY_BYTES]).decode("utf-8", errors="replace").replace("\x00", "")
