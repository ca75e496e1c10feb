"""A child process of the local stack: started, health-checked, stopped cleanly."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from dampwatch_core.errors import ServiceUnavailable

__all__ = ["ManagedProcess", "wait_until"]

log = logging.getLogger(__name__)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``check`` until it returns True, or raise :class:`ServiceUnavailable`.

    Any other exception from ``check`` counts as "not yet"; a
    :class:`ServiceUnavailable` (e.g. from :meth:`ManagedProcess.check_alive`: the
    process exited) ends the wait at once with its reason."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except ServiceUnavailable:
            raise
        except Exception:  # noqa: S110 - not ready yet; polled again
            pass
        time.sleep(0.05)
    raise ServiceUnavailable(f"{what} did not become healthy within {timeout_s:.0f} s")


class ManagedProcess:
    """One service process with its log file; ``stop`` sends SIGTERM, then SIGKILL."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logf = self.log_path.open("ab")
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        log.info("starting %s: %s", self.name, " ".join(self.argv))
        self.proc = subprocess.Popen(
            self.argv,
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
        )
        logf.close()

    def returncode(self) -> int | None:
        """The exit code once the process has exited (negative: killed by that
        signal); None while it runs or when it was never started or was stopped."""
        return self.proc.poll() if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        """Raise with the log's tail when the process has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            tail = " | ".join(line.strip() for line in self.log_tail(3).splitlines())
            raise ServiceUnavailable(
                f"{self.name} exited with code {self.proc.returncode}; its log "
                f"{self.log_path} ends: {tail}"
            )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(sig)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", self.name, timeout_s)
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would (for failure tests)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
