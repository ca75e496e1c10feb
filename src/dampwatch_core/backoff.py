"""One backoff for everything DampWatch retries: the gateway's writes and look-ups, the
outbox's deliveries and its writes of their outcomes.

:class:`BackoffPolicy` is the arithmetic, pure: the wait after the n-th failed attempt
doubles from ``initial_s`` up to ``max_s``, with jitter so that clients that failed
together do not retry together (``full``: anywhere below the ceiling; ``equal``: in its
upper half), and a server's ``Retry-After`` is honoured when it asks for longer (up to
``max_retry_after_s``). :class:`Backoff` waits those delays in a thread: a wait is cut
short when it is told to give up, and kept brief once it is told to hurry (a stop
request, so that a store that comes back within the grace period is written to before
the process exits).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

__all__ = ["HURRIED_MAX_S", "Backoff", "BackoffPolicy"]

T = TypeVar("T")

#: Longest wait between attempts once hurried.
HURRIED_MAX_S: Final = 0.25
#: Doubling stops here: 2**60 times any initial delay is past every cap.
_MAX_EXPONENT: Final = 60


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with jitter and a cap; all figures in seconds."""

    initial_s: float = 0.2
    max_s: float = 10.0
    jitter: Literal["full", "equal"] = "full"
    #: a ``Retry-After`` longer than this is cut to it (None: ignore ``Retry-After``)
    max_retry_after_s: float | None = None

    def ceiling(self, attempt: int) -> float:
        """The longest wait after the ``attempt``-th failure (1 for the first)."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return min(self.max_s, math.ldexp(self.initial_s, exponent))

    def delay(self, attempt: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        """The wait after the ``attempt``-th failure, or the server's ``Retry-After``
        if that is longer (capped)."""
        ceiling = self.ceiling(attempt)
        if self.jitter == "full":
            wait = ceiling * rng.random()
        else:
            wait = ceiling / 2 + ceiling / 2 * rng.random()
        if retry_after_s is not None and self.max_retry_after_s is not None:
            wait = max(wait, min(max(retry_after_s, 0.0), self.max_retry_after_s))
        return wait


class Backoff:
    """``wait()`` sleeps the next delay of ``policy``; returns True when ``abandon`` is
    set (stop trying). ``hurry`` cuts the current wait short and keeps later ones
    within :data:`HURRIED_MAX_S`. One instance per operation being retried."""

    def __init__(
        self,
        abandon: threading.Event,
        hurry: threading.Event | None = None,
        *,
        policy: BackoffPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.abandon = abandon
        self.hurry = hurry or threading.Event()
        self.policy = policy or BackoffPolicy()
        self._rng = rng or random.Random()
        self.attempt = 0

    def wait(self) -> bool:
        self.attempt += 1
        if self.hurry.is_set():
            pause = HURRIED_MAX_S * self._rng.random()
        else:
            pause = self.policy.delay(self.attempt, self._rng)
        end = time.monotonic() + pause
        while (left := end - time.monotonic()) > 0:
            if self.abandon.wait(min(left, HURRIED_MAX_S)):
                return True
            if self.hurry.is_set():
                end = min(end, time.monotonic() + HURRIED_MAX_S)
        return self.abandon.is_set()

    def retry(
        self,
        what: str,
        action: Callable[[], T],
        *,
        errors: tuple[type[BaseException], ...] = (Exception,),
        log: logging.Logger,
    ) -> T | None:
        """``action()``, waited and tried again while it raises one of ``errors``
        (logged as "could not <what>"); None when abandoned first."""
        while True:
            try:
                return action()
            except errors as exc:
                log.warning("could not %s (%s); retrying", what, exc)
            if self.wait():
                return None
