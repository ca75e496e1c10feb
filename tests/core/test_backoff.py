"""The one backoff: doubling to a cap with jitter, Retry-After when longer, and a
waiter that stops waiting when told to give up or to hurry."""

from __future__ import annotations

import logging
import random
import threading

import pytest

from dampwatch_core.backoff import HURRIED_MAX_S, Backoff, BackoffPolicy

log = logging.getLogger(__name__)


def test_delays_double_to_the_cap_with_jitter() -> None:
    policy = BackoffPolicy(initial_s=0.5, max_s=6.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 6.0, 6.0]
    assert policy.ceiling(10_000) == 6.0  # no overflow far along
    rng = random.Random(3)
    for attempt in range(1, 12):
        waits = [policy.delay(attempt, rng) for _ in range(50)]
        assert all(0 <= w <= policy.ceiling(attempt) for w in waits)
        assert len(set(waits)) > 40  # full jitter: spread, not one value
        assert min(waits) < policy.ceiling(attempt) / 2  # ... over the whole range


def test_equal_jitter_stays_in_the_upper_half() -> None:
    policy = BackoffPolicy(initial_s=10, max_s=300, jitter="equal")
    rng = random.Random(5)
    waits = [policy.delay(4, rng) for _ in range(100)]
    assert all(40 <= w <= 80 for w in waits) and len(set(waits)) > 90


def test_retry_after_counts_when_longer_and_is_capped() -> None:
    policy = BackoffPolicy(initial_s=1, max_s=4, max_retry_after_s=60)
    rng = random.Random(1)
    assert policy.delay(1, rng, retry_after_s=30) == 30
    assert policy.delay(1, rng, retry_after_s=3600) == 60
    assert policy.delay(3, rng, retry_after_s=0) <= 4  # shorter than the backoff: backoff
    assert BackoffPolicy(initial_s=1, max_s=4).delay(1, rng, retry_after_s=30) <= 1


@pytest.mark.timeout(20)  # a waiter that ignores abandon would sleep for an hour
def test_a_waiter_told_to_give_up_returns_at_once() -> None:
    abandon = threading.Event()
    abandon.set()
    backoff = Backoff(abandon, policy=BackoffPolicy(initial_s=3600, max_s=3600))
    assert backoff.wait() is True  # would sleep up to an hour otherwise


def test_a_hurried_waiter_keeps_its_waits_brief() -> None:
    """After a stop request, an hour-long backoff is cut to HURRIED_MAX_S a wait: a
    second thread gives up after a few waits, so a long one would hang the test."""
    abandon, hurry = threading.Event(), threading.Event()
    hurry.set()
    backoff = Backoff(abandon, hurry, policy=BackoffPolicy(initial_s=3600, max_s=3600))
    tries = 0

    def flaky() -> str:
        nonlocal tries
        tries += 1
        if tries < 4:
            raise OSError("store down")
        return "saved"

    done: list[str | None] = []
    worker = threading.Thread(target=lambda: done.append(backoff.retry("save", flaky, log=log)))
    worker.start()
    worker.join(timeout=30 * HURRIED_MAX_S)
    abandon.set()
    worker.join()
    assert done == ["saved"] and tries == 4


def test_retry_gives_up_when_abandoned_and_lets_other_errors_through() -> None:
    abandon = threading.Event()
    backoff = Backoff(abandon, policy=BackoffPolicy(initial_s=0.001, max_s=0.001))

    def down() -> int:
        abandon.set()
        raise OSError("down")

    assert backoff.retry("write", down, log=log) is None

    def wrong() -> int:
        raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):
        Backoff(threading.Event()).retry("write", wrong, errors=(OSError,), log=log)
