"""Under-heating metrics, occupied windows, cooling time constant."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from backend.risk.heating import (
    cooling_time_constant,
    cooling_time_constant_regression,
    degree_hours_below,
    hours_below,
    local_hour,
    occupied_mask,
    self_disconnection,
)


def test_under_heating_known_answer() -> None:
    temps = [16.0] * 8 + [19.0] * 4 + [17.5] * 8 + [20.0] * 4
    hours = np.ones(len(temps))
    assert hours_below(temps, hours, 18.0) == pytest.approx(16.0)
    assert degree_hours_below(temps, hours, 18.0) == pytest.approx(20.0)
    assert hours_below(temps, hours, 16.0) == 0.0


def test_local_time_follows_british_summer_time() -> None:
    def ts(*args: int) -> int:
        return int(datetime(*args, tzinfo=UTC).timestamp())

    assert local_hour(ts(2025, 1, 15, 7, 30)) == 7  # GMT
    assert local_hour(ts(2025, 7, 15, 7, 30)) == 8  # BST
    assert local_hour(ts(2025, 3, 30, 0, 59)) == 0  # before the change at 01:00 UTC
    assert local_hour(ts(2025, 3, 30, 1, 0)) == 2
    assert local_hour(ts(2025, 10, 26, 0, 59)) == 1
    assert local_hour(ts(2025, 10, 26, 1, 0)) == 1
    winter_day = np.array([ts(2025, 1, 15, h) for h in range(24)])
    assert occupied_mask(winter_day, "living_room").sum() == 12
    assert list(np.nonzero(occupied_mask(winter_day, "bedroom"))[0]) == [*range(8), *range(20, 24)]
    assert occupied_mask(winter_day, "kitchen").all()


def test_cooling_time_constant_known_answer() -> None:
    t_h = np.arange(0, 12 + 1e-9, 10 / 60)
    ti = 5 + (20 - 5) * np.exp(-t_h / 40)
    assert cooling_time_constant(t_h, ti, np.full(t_h.size, 5.0)) == pytest.approx(40.0, abs=0.05)
    # warm outdoors: nothing to identify
    assert cooling_time_constant(t_h, np.full(t_h.size, 20.0), np.full(t_h.size, 19.5)) is None


def test_cooling_time_constant_by_regression_with_varying_outdoor() -> None:
    step = 0.25
    n = 400
    te = 3 + 2 * np.sin(np.arange(n) * step / 24 * 2 * np.pi)
    ti = np.empty(n)
    ti[0] = 21.0
    for k in range(1, n):  # exact 1R1C free-running decay
        ti[k] = ti[k - 1] + step * (te[k - 1] - ti[k - 1]) / 30.0
    tau = cooling_time_constant_regression(ti[None, :], te[None, :], step)
    assert tau[0] == pytest.approx(30.0, rel=0.02)


def test_self_disconnection_signature() -> None:
    days = np.array(
        [
            [19.5, 19.8, 19.2, 19.9, 14.0, 13.2, 12.5],  # heated, then stopped: flagged
            [19.5, 19.8, 19.2, 19.9, 19.0, 19.1, 19.4],  # always heated
            [14.0, 13.5, 13.0, 14.2, 13.9, 13.7, 13.1],  # always cold (under-heated/empty)
            [19.5, 19.8, 19.2, 14.0, 19.5, 19.1, 19.4],  # one cold day, recovered
        ]
    )
    assert self_disconnection(days).tolist() == [True, False, False, False]
