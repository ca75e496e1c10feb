"""The local stack's supervisor, on real processes with a clock the test drives: a
crashed process is restarted after a backoff that doubles with fast crashes, a healthy
run resets it, repeated fast crashes give up with the reason, a clean exit is left."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import pytest

from dampwatch.stack.process import ManagedProcess, wait_until
from dampwatch.stack.supervisor import RestartPolicy, Supervisor
from dampwatch_core.errors import ServiceUnavailable

POLICY = RestartPolicy(backoff_s=1.0, max_backoff_s=8.0, healthy_after_s=10.0, start_limit=5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def process(tmp_path: Path, name: str, code: str) -> ManagedProcess:
    proc = ManagedProcess(name, [sys.executable, "-c", code], tmp_path / f"{name}.log")
    proc.start()
    return proc


def exited(proc: ManagedProcess) -> None:
    wait_until(lambda: proc.returncode() is not None, 20, f"{proc.name} to exit")


def advance_until_restarted(sup: Supervisor, clock: Clock, proc: ManagedProcess) -> float:
    """Move the clock in 0.25 s steps until ``proc`` is running again (at most a
    minute of its time); returns how long that took."""
    pid, started = proc.pid, clock.now
    for _ in range(240):
        if proc.pid != pid:
            return clock.now - started
        clock.now += 0.25
        sup.poll()
    raise AssertionError(f"{proc.name} not restarted within 60 s of the supervisor's clock")


def test_a_killed_process_is_restarted_with_doubling_backoff_then_reset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dampwatch.stack.supervisor")
    clock = Clock()
    proc = process(tmp_path, "sleeper", "import time; time.sleep(600)")
    sup = Supervisor([proc], POLICY, clock=clock)
    try:
        delays = []
        for _ in range(3):  # three fast crashes: 1, 2, 4 s
            pid = proc.pid
            proc.signal(signal.SIGKILL)
            exited(proc)
            clock.now += 1
            sup.poll()
            assert proc.returncode() == -9 and proc.pid == pid, "restarted before its backoff"
            delays.append(advance_until_restarted(sup, clock, proc))
            assert proc.alive()
        assert delays == [1.0, 2.0, 4.0]
        assert sup.restarts("sleeper") == 3
        # a run longer than healthy_after_s: the next crash waits the first backoff again
        clock.now += 60
        sup.poll()
        proc.signal(signal.SIGKILL)
        exited(proc)
        sup.poll()
        assert advance_until_restarted(sup, clock, proc) == 1.0
        assert "sleeper was killed by signal 9 after 1.0 s; restarting in 1.0 s" in caplog.text
        assert "restarting sleeper (restart 1)" in caplog.text
    finally:
        proc.stop()


def test_repeated_fast_crashes_give_up_with_the_reason(tmp_path: Path) -> None:
    clock = Clock()
    proc = process(tmp_path, "crasher", "import sys; print('bad config'); sys.exit(3)")
    sup = Supervisor([proc], POLICY, clock=clock)
    starts = 1
    with pytest.raises(ServiceUnavailable) as info:
        for _ in range(200):
            exited(proc)
            pid = proc.pid
            sup.poll()
            clock.now += 0.5
            sup.poll()
            if proc.pid != pid:
                starts += 1
    assert starts == POLICY.start_limit, "given up after the fifth fast crash, not before"
    message = str(info.value)
    assert "crasher exited with code 3, its 5th crash in a row" in message
    assert "giving up" in message and "bad config" in message


def test_a_clean_exit_is_not_restarted(tmp_path: Path) -> None:
    clock = Clock()
    proc = process(tmp_path, "oneshot", "pass")
    sup = Supervisor([proc], POLICY, clock=clock)
    exited(proc)
    for _ in range(10):
        clock.now += 10
        sup.poll()
    assert sup.restarts("oneshot") == 0 and proc.returncode() == 0
