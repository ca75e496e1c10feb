"""The outbox and its dispatcher against a real HTTP receiver that verifies every
signature and fails on purpose, on SQLite and PostgreSQL. The dispatcher's clock is a
test clock, so days of retries take seconds; signatures use the real time (the
receiver checks it)."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from whreceiver import Receiver, Reply, wait_for

from alerting.channels.webhook import WebhookChannel, new_secret, parse_retry_after
from alerting.errors import AlertingError
from alerting.outbox import Dispatcher, RetryPolicy, backoff_delay, enqueue, replay
from dampwatch_core.models_cases import Contractor, OutboxMessage

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.5) as c:
        yield c


def add_contractor(sessions: sessionmaker[Session], url: str, secret: str,
                   name: str = "Acme Damp") -> int:
    with sessions.begin() as session:
        c = Contractor(name=name, trade="damp_mould", webhook_url=url, secret=secret,
                       enabled=True)
        session.add(c)
        session.flush()
        return c.id


def put(sessions: sessionmaker[Session], contractor_id: int, n: int = 1,
        now: dt.datetime = T0) -> list[str]:
    ids = []
    with sessions.begin() as session:
        for i in range(n):
            m = enqueue(session, event_type="work_order.RaiseRepair",
                        payload={"WorkOrderReference": {"ID": f"DM-{i:06d}-1"}, "n": i},
                        contractor_id=contractor_id, case_id=None, now=now)
            ids.append(m.message_id)
    return ids


def row(sessions: sessionmaker[Session], message_id: str) -> OutboxMessage:
    with sessions() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()


def make(sessions: sessionmaker[Session], client: httpx.Client, clock: Clock,
         **kw: object) -> Dispatcher:
    policy = kw.pop("policy", RetryPolicy())
    return Dispatcher(sessions, WebhookChannel(client), clock=clock, rng=random.Random(7),
                      policy=policy, **kw)  # type: ignore[arg-type]


def test_deliveries_are_signed_and_verified(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    receiver = Receiver(secret).start()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        ids = put(sessions, cid, 5)
        with make(sessions, client, Clock()) as d:
            assert d.run_once() == 5
            assert d.run_once() == 0
        assert set(receiver.accepted) == set(ids)
        assert all(s.valid for s in receiver.seen) and receiver.duplicates == 0
        for wid in ids:
            r = row(sessions, wid)
            assert (r.status, r.attempts, r.last_status_code) == ("delivered", 1, 200)
            assert r.delivered_at == T0 and r.claim_token is None
    finally:
        receiver.stop()


def test_a_wrong_secret_is_rejected_by_the_receiver(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    receiver = Receiver(secret).start()
    try:
        cid = add_contractor(sessions, receiver.url, new_secret())
        [wid] = put(sessions, cid)
        with make(sessions, client, Clock()) as d:
            d.run_once()
        assert receiver.accepted == {}
        assert row(sessions, wid).status == "failed"  # 401: a retry cannot help
    finally:
        receiver.stop()


def test_retries_keep_the_webhook_id_and_back_off(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    receiver = Receiver(secret, lambda _id, n: Reply(500) if n <= 3 else Reply(200)).start()
    clock = Clock()
    policy = RetryPolicy(base_delay=dt.timedelta(seconds=30))
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        [wid] = put(sessions, cid)
        with make(sessions, client, clock, policy=policy) as d:
            waits = []
            for attempt in (1, 2, 3):
                assert d.run_once() == 1
                r = row(sessions, wid)
                assert (r.status, r.attempts, r.last_status_code) == ("pending", attempt, 500)
                wait = r.next_attempt_at - clock.now
                # equal jitter: between half and all of 30 s · 2^(attempt-1)
                ceiling = dt.timedelta(seconds=30 * 2 ** (attempt - 1))
                assert ceiling / 2 <= wait <= ceiling
                waits.append(wait)
                clock.now = r.next_attempt_at - dt.timedelta(seconds=1)
                assert d.run_once() == 0  # not due yet
                clock.now = r.next_attempt_at
            assert d.run_once() == 1
        assert waits[0] < waits[2]
        attempts = receiver.attempts(wid)
        assert [a.status for a in attempts] == [500, 500, 500, 200]
        assert {a.webhook_id for a in attempts} == {wid}
        assert len({a.body for a in attempts}) == 1
        assert all(a.valid for a in attempts)
        assert row(sessions, wid).status == "delivered"
    finally:
        receiver.stop()


def test_retry_after_is_honoured(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    receiver = Receiver(
        secret, lambda _id, n: Reply(429, {"Retry-After": "5400"}) if n == 1 else Reply(200)
    ).start()
    clock = Clock()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        [wid] = put(sessions, cid)
        with make(sessions, client, clock) as d:
            d.run_once()
            r = row(sessions, wid)
            assert r.status == "pending" and r.last_status_code == 429
            assert r.next_attempt_at == T0 + dt.timedelta(seconds=5400)
            clock.now = T0 + dt.timedelta(seconds=5399)
            assert d.run_once() == 0
            clock.now = T0 + dt.timedelta(seconds=5400)
            assert d.run_once() == 1
        assert wid in receiver.accepted
    finally:
        receiver.stop()


def test_retry_after_forms() -> None:
    now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Mon, 05 Jan 2026 09:10:00 GMT", now) == 600.0
    assert parse_retry_after("Mon, 05 Jan 2026 08:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_grows_caps_and_jitters() -> None:
    policy = RetryPolicy(base_delay=dt.timedelta(seconds=10), max_delay=dt.timedelta(minutes=5))
    rng = random.Random(1)
    for attempts in range(1, 40):
        ceiling = min(dt.timedelta(seconds=10 * 2 ** (attempts - 1)), dt.timedelta(minutes=5))
        d = backoff_delay(policy, attempts, rng)
        assert ceiling / 2 <= d <= ceiling
    spread = {backoff_delay(policy, 3, rng) for _ in range(20)}
    assert len(spread) > 10  # jittered, not a fixed delay


def test_a_timeout_is_retried(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    receiver = Receiver(secret, lambda _id, n: Reply(200, delay_s=1.5) if n == 1 else Reply()
                        ).start()
    clock = Clock()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        [wid] = put(sessions, cid)
        with make(sessions, client, clock) as d:
            d.run_once()
            r = row(sessions, wid)
            assert r.status == "pending" and r.last_status_code is None
            assert "timed out" in (r.last_error or "")
            clock.now = r.next_attempt_at
            d.run_once()
        assert row(sessions, wid).status == "delivered"
        assert {a.webhook_id for a in receiver.attempts(wid)} == {wid}
    finally:
        receiver.stop()


def test_410_disables_the_endpoint_until_replayed(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    gone = {"on": True}
    receiver = Receiver(secret, lambda _id, _n: Reply(410) if gone["on"] else Reply()).start()
    clock = Clock()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        first, second = put(sessions, cid, 2)
        with make(sessions, client, clock, batch_size=1) as d:
            assert d.run_once() == 1
            r = row(sessions, first)
            assert r.status == "failed" and "410" in (r.last_error or "")
            with sessions() as session:
                c = session.get(Contractor, cid)
                assert c is not None and not c.enabled and "410" in (c.disabled_reason or "")
            clock.now += dt.timedelta(hours=1)
            assert d.run_once() == 0  # the other message waits: the endpoint is disabled
            assert row(sessions, second).status == "pending"
            with pytest.raises(AlertingError, match="disabled"), sessions.begin() as session:
                replay(session, now=clock.now, ids=[r.id])
            gone["on"] = False
            with sessions.begin() as session:
                replay(session, now=clock.now, ids=[r.id], reenable=True)
            assert d.run_once() + d.run_once() == 2
        assert set(receiver.accepted) == {first, second}
    finally:
        receiver.stop()


def test_gives_up_after_three_days_then_replays(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    down = {"on": True}
    receiver = Receiver(secret, lambda _id, _n: Reply(503) if down["on"] else Reply()).start()
    clock = Clock()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        [wid] = put(sessions, cid)
        with make(sessions, client, clock) as d:
            for _ in range(200):
                d.run_once()
                r = row(sessions, wid)
                if r.status == "failed":
                    break
                clock.now = r.next_attempt_at
            assert r.status == "failed" and "gave up" in (r.last_error or "")
            assert clock.now - T0 <= dt.timedelta(days=3)
            assert clock.now - T0 > dt.timedelta(days=2, hours=22)
            # capped at an hour with equal jitter: every 30 to 60 min after the first few
            assert 72 <= r.attempts <= 144 + 8
            clock.now += dt.timedelta(days=1)
            assert d.run_once() == 0  # failed stays failed until replayed
            down["on"] = False
            with sessions.begin() as session:
                [again] = replay(session, now=clock.now, all_failed=True)
                assert again.message_id == wid
            assert d.run_once() == 1
        assert row(sessions, wid).status == "delivered"
        assert {a.webhook_id for a in receiver.attempts(wid)} == {wid}
    finally:
        receiver.stop()


def test_a_client_error_fails_at_once(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    receiver = Receiver(secret, lambda _id, _n: Reply(422)).start()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        [wid] = put(sessions, cid)
        with make(sessions, client, Clock()) as d:
            d.run_once()
        r = row(sessions, wid)
        assert (r.status, r.attempts, r.last_status_code) == ("failed", 1, 422)
    finally:
        receiver.stop()


def test_two_dispatchers_never_send_one_message_twice(
    sessions: sessionmaker[Session], secret: str
) -> None:
    receiver = Receiver(secret).start()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        ids = put(sessions, cid, 300)
        stop = threading.Event()
        clients = [httpx.Client(timeout=5) for _ in range(2)]
        dispatchers = [
            Dispatcher(sessions, WebhookChannel(c), batch_size=10, concurrency=4)
            for c in clients
        ]
        threads = [threading.Thread(target=d.run, args=(stop, 0.05)) for d in dispatchers]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(receiver.accepted) == 300, 120, "300 deliveries")
        finally:
            stop.set()
            for t in threads:
                t.join()
            for d in dispatchers:
                d.close()
            for c in clients:
                c.close()
        assert set(receiver.accepted) == set(ids)
        assert receiver.count() == 300 and receiver.duplicates == 0
    finally:
        receiver.stop()


def test_a_dead_dispatchers_claim_runs_out(
    sessions: sessionmaker[Session], client: httpx.Client, secret: str
) -> None:
    """A dispatcher that claimed messages and died: another takes them after the lease."""
    receiver = Receiver(secret).start()
    clock = Clock()
    policy = RetryPolicy(lease=dt.timedelta(seconds=60))
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        ids = put(sessions, cid, 3)
        with make(sessions, client, clock, policy=policy) as dead, make(
            sessions, client, clock, policy=policy
        ) as alive:
            assert len(dead.claim()) == 3  # ... and never sends or records
            assert {row(sessions, i).status for i in ids} == {"delivering"}
            clock.now += dt.timedelta(seconds=59)
            assert alive.run_once() == 0  # still the dead one's
            clock.now += dt.timedelta(seconds=2)
            assert alive.run_once() == 3
        assert set(receiver.accepted) == set(ids)
        assert {row(sessions, i).status for i in ids} == {"delivered"}
    finally:
        receiver.stop()


class _BusyOnce:
    """A session factory whose first transaction finds the store locked."""

    def __init__(self, real: sessionmaker[Session]) -> None:
        self.real = real
        self.failures = 1

    def begin(self) -> object:
        if self.failures:
            self.failures -= 1
            raise OperationalError("BEGIN", {}, Exception("database is locked"))
        return self.real.begin()

    def __call__(self) -> Session:
        return self.real()


def test_a_busy_store_does_not_stop_the_dispatcher(
    sessions: sessionmaker[Session], secret: str
) -> None:
    receiver = Receiver(secret).start()
    try:
        cid = add_contractor(sessions, receiver.url, secret)
        ids = put(sessions, cid, 2)
        stop = threading.Event()
        with httpx.Client(timeout=5) as c, Dispatcher(
            _BusyOnce(sessions), WebhookChannel(c)  # type: ignore[arg-type]
        ) as d:
            thread = threading.Thread(target=d.run, args=(stop, 0.05))
            thread.start()
            try:
                wait_for(lambda: set(receiver.accepted) == set(ids), 20, "both delivered")
            finally:
                stop.set()
                thread.join()
    finally:
        receiver.stop()
