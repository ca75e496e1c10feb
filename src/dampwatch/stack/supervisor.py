"""Keeps the local stack's processes running, as systemd's ``Restart=on-failure`` with a
start limit would: a process that fails (a non-zero exit code or a signal such as
SIGKILL) is started again after a backoff that doubles with each fast crash in a row
(from ``backoff_s`` up to ``max_backoff_s``); one that ran for ``healthy_after_s`` before
failing starts the count afresh. After ``start_limit`` fast crashes in a row the
supervisor gives up and raises, and ``dampwatch up`` stops everything with the reason.
A process that exits cleanly (code 0) is not restarted; that is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dampwatch.stack.process import ManagedProcess
from dampwatch_core.errors import ServiceUnavailable

__all__ = ["RestartPolicy", "Supervisor"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    #: a process that ran at least this long before failing was healthy
    healthy_after_s: float = 10.0
    #: fast crashes in a row after which the supervisor gives up
    start_limit: int = 5

    def delay(self, fast_crashes: int) -> float:
        """Seconds before the next start after ``fast_crashes`` (≥ 1) in a row."""
        return min(self.max_backoff_s, self.backoff_s * 2.0 ** max(0, fast_crashes - 1))


@dataclass
class _Watch:
    process: ManagedProcess
    started_at: float
    fast_crashes: int = 0
    restart_at: float | None = None
    restarts: int = 0
    done: bool = False  # exited cleanly: left alone
    history: list[tuple[float, int]] = field(default_factory=list)


class Supervisor:
    """Watches already-started processes; call :meth:`poll` often (it never blocks)."""

    def __init__(
        self,
        processes: Sequence[ManagedProcess] = (),
        policy: RestartPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RestartPolicy()
        self.clock = clock
        self._watches: list[_Watch] = []
        for process in processes:
            self.watch(process)

    def watch(self, process: ManagedProcess) -> None:
        self._watches.append(_Watch(process, self.clock()))

    def restarts(self, name: str) -> int:
        return sum(w.restarts for w in self._watches if w.process.name == name)

    def poll(self) -> None:
        """Restart what failed and is due; raise :class:`ServiceUnavailable` when a
        process has crashed fast ``start_limit`` times in a row."""
        now = self.clock()
        for w in self._watches:
            if w.done:
                continue
            if w.restart_at is not None:
                if now >= w.restart_at:
                    w.restart_at = None
                    w.restarts += 1
                    log.warning("restarting %s (restart %d)", w.process.name, w.restarts)
                    w.process.start()
                    w.started_at = now
                continue
            code = w.process.returncode()
            if code is None:
                continue
            ran_s = now - w.started_at
            w.history.append((ran_s, code))
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            if code == 0:
                w.done = True
                log.warning("%s %s after %.1f s; not restarted", w.process.name, how, ran_s)
                continue
            w.fast_crashes = w.fast_crashes + 1 if ran_s < self.policy.healthy_after_s else 1
            if w.fast_crashes >= self.policy.start_limit:
                tail = " | ".join(line.strip() for line in w.process.log_tail(3).splitlines())
                raise ServiceUnavailable(
                    f"{w.process.name} {how}, its {w.fast_crashes}th crash in a row within "
                    f"{self.policy.healthy_after_s:.0f} s of starting; giving up. Its log "
                    f"({w.process.log_path}) ends: {tail}"
                )
            delay = self.policy.delay(w.fast_crashes)
            w.restart_at = now + delay
            log.warning(
                "%s %s after %.1f s; restarting in %.1f s", w.process.name, how, ran_s, delay
            )
