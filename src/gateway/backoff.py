"""One backoff for everything the gateway retries: exponential, with full jitter, cut
short when the gateway is asked to stop (it then retries briskly until it gives up)."""

from __future__ import annotations

import random
import threading
import time
from typing import Final

__all__ = ["Backoff"]

#: Longest wait between attempts while stopping, so a store that comes back within the
#: grace period is written to before the gateway exits.
HURRIED_MAX_S: Final = 0.25


class Backoff:
    """``wait()`` sleeps a random part of a delay that doubles from ``initial_s`` up to
    ``max_s``. Returns True when ``abandon`` is set (stop trying); ``hurry`` (a stop
    request) cuts the current wait short and keeps later ones brief."""

    def __init__(
        self,
        abandon: threading.Event,
        hurry: threading.Event | None = None,
        *,
        initial_s: float = 0.2,
        max_s: float = 10.0,
    ) -> None:
        self.abandon = abandon
        self.hurry = hurry or threading.Event()
        self.initial_s = initial_s
        self.max_s = max_s
        self.delay = initial_s

    def reset(self) -> None:
        self.delay = self.initial_s

    def wait(self) -> bool:
        limit = HURRIED_MAX_S if self.hurry.is_set() else self.delay
        end = time.monotonic() + random.uniform(0, limit)  # full jitter
        self.delay = min(self.delay * 2, self.max_s)
        while (left := end - time.monotonic()) > 0:
            if self.abandon.wait(min(left, HURRIED_MAX_S)):
                return True
            if self.hurry.is_set():
                end = min(end, time.monotonic() + HURRIED_MAX_S)
        return self.abandon.is_set()
