"""The durable outbox and its dispatcher.

A change that must reach someone outside (a work order for a contractor) writes an
:class:`~dampwatch_core.models_cases.OutboxMessage` with :func:`enqueue` in the *same*
transaction as the change itself: either both are committed or neither is, so a crash
can neither lose a message nor send one for a change that never happened.

A :class:`Dispatcher` claims due messages, sends them through a channel, and records
the outcome:

- delivered (2xx): done;
- retry (timeout, connection refused, 5xx, 408/409/425/429): the next attempt waits an
  exponential backoff with jitter, or longer if the endpoint sent ``Retry-After``;
  after 3 days of trying the message is marked failed;
- gone (410): the message fails and the contractor's endpoint is disabled (its other
  messages wait until it is re-enabled);
- rejected (any other 4xx): failed at once.

Failed messages stay in the table with their last error and can be replayed
(:func:`replay`). Claiming writes a claim token and a lease; on PostgreSQL the
candidate rows are locked with ``FOR UPDATE SKIP LOCKED`` so several dispatchers take
different rows; everywhere the claim is a conditional update, so two dispatchers can
never hold one row, and a row whose dispatcher died is claimable again when its lease
runs out. Delivery is *at least once*: a dispatcher killed after the receiver answered
but before it recorded the answer sends the message again, with the same
``webhook-id``, which the receiver uses to drop the repeat.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from alerting.channels import (
    CONTRACTOR_WEBHOOK,
    Channel,
    DeliveryOutcome,
    DeliveryResult,
    OutboundMessage,
)
from alerting.errors import AlertingError
from dampwatch_core.backoff import Backoff, BackoffPolicy
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import Contractor, OutboxMessage

__all__ = [
    "Dispatcher",
    "MessageStatus",
    "RetryPolicy",
    "backoff_delay",
    "enqueue",
    "next_attempt_delay",
    "replay",
]

log = logging.getLogger(__name__)

#: how many times outcomes are written before the dispatcher gives up on a busy store
_RECORD_TRIES = 5
#: the waits between those writes
_RECORD_BACKOFF = BackoffPolicy(initial_s=0.2, max_s=0.8, jitter="equal")


class MessageStatus:
    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts and when to give up."""

    base_delay: dt.timedelta = dt.timedelta(seconds=30)
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    give_up_after: dt.timedelta = dt.timedelta(days=3)
    #: a claimed row is another dispatcher's to take after this (longer than a timeout)
    lease: dt.timedelta = dt.timedelta(seconds=60)
    #: a ``Retry-After`` longer than this is cut to it
    max_retry_after: dt.timedelta = dt.timedelta(hours=6)

    def backoff(self) -> BackoffPolicy:
        """The delays between attempts, as the backoff every DampWatch retry uses."""
        return BackoffPolicy(
            initial_s=self.base_delay.total_seconds(),
            max_s=self.max_delay.total_seconds(),
            jitter="equal",
            max_retry_after_s=self.max_retry_after.total_seconds(),
        )


def backoff_delay(policy: RetryPolicy, attempts: int, rng: random.Random) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base · 2^(attempts-1)``,
    capped at ``max_delay``, with "equal jitter" (uniform in its upper half) so
    endpoints that failed together do not retry together."""
    return dt.timedelta(seconds=policy.backoff().delay(attempts, rng))


def next_attempt_delay(
    policy: RetryPolicy, attempts: int, retry_after: float | None, rng: random.Random
) -> dt.timedelta:
    """The backoff, or the endpoint's ``Retry-After`` if that is longer (capped)."""
    return dt.timedelta(seconds=policy.backoff().delay(attempts, rng, retry_after))


def enqueue(
    session: Session,
    *,
    event_type: str,
    payload: Mapping[str, Any],
    contractor_id: int | None,
    case_id: int | None,
    now: dt.datetime,
    channel: str = CONTRACTOR_WEBHOOK,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in ``session``'s transaction (not committed here).

    A contractor's message names its contractor (endpoint and secret); a message for a
    channel with its own address (the officers' webhook, Notify) names none.
    ``not_before`` holds the first attempt back (quiet hours)."""
    if (contractor_id is None) == (channel == CONTRACTOR_WEBHOOK):
        raise AlertingError(
            f"a {channel!r} message {'needs' if contractor_id is None else 'has no'} contractor"
        )
    message = OutboxMessage(
        message_id=f"msg_{uuid.uuid4().hex}",
        channel=channel,
        event_type=event_type,
        contractor_id=contractor_id,
        case_id=case_id,
        body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False),
        status=MessageStatus.PENDING,
        attempts=0,
        created_at=now,
        window_started_at=now,
        next_attempt_at=max(now, not_before) if not_before is not None else now,
    )
    session.add(message)
    return message


def replay(
    session: Session,
    *,
    now: dt.datetime,
    ids: Iterable[int] = (),
    all_failed: bool = False,
    reenable: bool = False,
) -> list[OutboxMessage]:
    """Put failed messages back in the queue, due now, with a fresh 3-day window.

    With ``reenable``, a contractor disabled by a 410 is enabled again first; without
    it, replaying a disabled contractor's message is refused (it would only wait).
    """
    wanted = list(ids)
    if not wanted and not all_failed:
        raise AlertingError("name the messages to retry, or ask for all failed ones")
    query = select(OutboxMessage).where(OutboxMessage.status == MessageStatus.FAILED)
    if wanted:
        query = query.where(OutboxMessage.id.in_(wanted))
    rows = list(session.scalars(query.order_by(OutboxMessage.id)))
    if wanted:
        missing = sorted(set(wanted) - {row.id for row in rows})
        if missing:
            raise AlertingError(
                "not failed (or no such message): " + ", ".join(str(i) for i in missing)
            )
    for row in rows:
        contractor = row.contractor
        if contractor is not None and not contractor.enabled:
            if not reenable:
                raise AlertingError(
                    f"message {row.id}: contractor {contractor.name!r} is disabled "
                    f"({contractor.disabled_reason}); retry with --reenable once its "
                    "endpoint works again"
                )
            contractor.enabled = True
            contractor.disabled_at = None
            contractor.disabled_reason = None
        row.status = MessageStatus.PENDING
        row.next_attempt_at = now
        row.window_started_at = now
        row.claim_token = None
        row.lease_until = None
    return rows


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    token: str
    attempts: int
    window_started_at: dt.datetime
    contractor_id: int | None
    message: OutboundMessage


class Dispatcher:
    """Claims due outbox messages and delivers them through ``channel``.

    ``clock`` and ``rng`` are injected so tests can run days of retries in seconds;
    ``concurrency`` sends a claimed batch over that many threads (the channel's HTTP
    client must allow it, as ``httpx.Client`` does). ``channel_name``, when given, is
    the one outbox channel it takes rows of (``webhook``: contractors' endpoints;
    ``notify``: messages to tenants, which have no contractor); by default it takes
    every channel's rows and ``channel`` (a :class:`ChannelRouter`) routes them.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channel: Channel,
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
        batch_size: int = 100,
        concurrency: int = 8,
        channel_name: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._channel = channel
        self.channel_name = channel_name
        self.policy = policy or RetryPolicy()
        self._clock = clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.batch_size = batch_size
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency))

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- claiming -------------------------------------------------------------------

    def _claimable(self, now: dt.datetime) -> Any:
        return or_(
            and_(
                OutboxMessage.status == MessageStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
            ),
            and_(
                OutboxMessage.status == MessageStatus.DELIVERING,
                OutboxMessage.lease_until < now,
            ),
        )

    def claim(self) -> list[_Claimed]:
        """Take up to ``batch_size`` due messages for this dispatcher (committed)."""
        now = self._clock()
        token = uuid.uuid4().hex
        with self._sessions.begin() as session:
            # a contractor's message waits while its endpoint is disabled; a message of
            # a channel with its own address (no contractor) goes whenever due
            candidates = (
                select(OutboxMessage.id)
                .outerjoin(Contractor, Contractor.id == OutboxMessage.contractor_id)
                .where(
                    *(
                        ()
                        if self.channel_name is None
                        else (OutboxMessage.channel == self.channel_name,)
                    ),
                    or_(OutboxMessage.contractor_id.is_(None), Contractor.enabled.is_(True)),
                    self._claimable(now),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                # rows locked by another dispatcher's claim are skipped, not waited for
                locked = candidates.with_for_update(skip_locked=True, of=OutboxMessage)
                chosen: Any = list(session.scalars(locked))
            else:
                # one statement that writes: no read-then-write upgrade for SQLite to
                # refuse while another connection writes
                chosen = candidates.scalar_subquery()
            claimed = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chosen), self._claimable(now))
                .values(
                    status=MessageStatus.DELIVERING,
                    claim_token=token,
                    lease_until=now + self.policy.lease,
                )
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return []
        with self._sessions() as session:
            rows = session.execute(
                select(OutboxMessage, Contractor)
                .outerjoin(Contractor, Contractor.id == OutboxMessage.contractor_id)
                .where(OutboxMessage.claim_token == token)
                .order_by(OutboxMessage.id)
            ).all()
            return [
                _Claimed(
                    id=row.id,
                    token=token,
                    attempts=row.attempts,
                    window_started_at=row.window_started_at,
                    contractor_id=row.contractor_id,
                    message=OutboundMessage(
                        message_id=row.message_id,
                        event_type=row.event_type,
                        body=row.body,
                        url=contractor.webhook_url if contractor is not None else "",
                        secret=contractor.secret if contractor is not None else "",
                        channel=row.channel,
                    ),
                )
                for row, contractor in rows
            ]

    # -- delivering -----------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; the number of messages tried."""
        claimed = self.claim()
        if not claimed:
            return 0
        results = list(self._pool.map(lambda c: self._channel.send(c.message), claimed))
        self._record(claimed, results)
        return len(claimed)

    def _delay(self, attempts: int, retry_after: float | None) -> dt.timedelta:
        with self._rng_lock:
            return next_attempt_delay(self.policy, attempts, retry_after, self._rng)

    def _record(self, claimed: Sequence[_Claimed], results: Sequence[DeliveryResult]) -> None:
        """Store the outcomes; a busy store is retried a few times, because giving up
        here means the receiver gets these messages again after the lease."""
        backoff = Backoff(threading.Event(), policy=_RECORD_BACKOFF)
        for attempt in range(1, _RECORD_TRIES + 1):
            try:
                self._record_once(claimed, results)
                return
            except OperationalError as exc:
                if attempt == _RECORD_TRIES:
                    raise
                log.warning("recording %d outcomes failed (%s); retrying", len(claimed), exc.orig)
                backoff.wait()

    def _record_once(self, claimed: Sequence[_Claimed], results: Sequence[DeliveryResult]) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            for item, result in zip(claimed, results, strict=True):
                values: dict[str, Any] = {
                    "attempts": item.attempts + 1,
                    "last_attempt_at": now,
                    "last_status_code": result.status_code,
                    "last_error": result.error,
                    "claim_token": None,
                    "lease_until": None,
                }
                if result.outcome is DeliveryOutcome.DELIVERED:
                    values.update(status=MessageStatus.DELIVERED, delivered_at=now)
                elif result.outcome is DeliveryOutcome.RETRY:
                    due = now + self._delay(item.attempts + 1, result.retry_after)
                    if due - item.window_started_at > self.policy.give_up_after:
                        values.update(
                            status=MessageStatus.FAILED,
                            last_error=f"gave up after {self.policy.give_up_after} of "
                            f"retries; last: {result.error}",
                        )
                    else:
                        values.update(status=MessageStatus.PENDING, next_attempt_at=due)
                elif result.outcome is DeliveryOutcome.GONE:
                    values.update(
                        status=MessageStatus.FAILED,
                        last_error="endpoint answered 410 Gone: contractor disabled",
                    )
                    if item.contractor_id is not None:
                        session.execute(
                            update(Contractor)
                            .where(Contractor.id == item.contractor_id)
                            .values(
                                enabled=False,
                                disabled_at=now,
                                disabled_reason="endpoint answered 410 Gone",
                            )
                        )
                    log.warning("contractor %s endpoint gone (410): disabled", item.contractor_id)
                else:
                    values.update(status=MessageStatus.FAILED)
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == item.id,
                        OutboxMessage.claim_token == item.token,
                    )
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if result.outcome is not DeliveryOutcome.DELIVERED:
                    log.info(
                        "outbox message %s attempt %d: %s (%s)",
                        item.id,
                        item.attempts + 1,
                        result.outcome.value,
                        result.error,
                    )

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """Dispatch until ``stop`` is set; waits ``idle_wait`` s when nothing is due."""
        while not stop.is_set():
            try:
                sent = self.run_once()
            except OperationalError as exc:
                # the store is busy or briefly unreachable: claimed rows stay leased
                # and are taken again when the lease runs out (the same webhook-id)
                log.warning("outbox store unavailable, retrying: %s", exc.orig)
                stop.wait(max(idle_wait, 1.0))
                continue
            if sent == 0:
                stop.wait(idle_wait)
