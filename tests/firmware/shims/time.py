# Host shim: the builtin time module, except time() follows the simulated wall clock
# ($DW_SIM/clock.json: the wake's start time plus the real time awake, plus an offset
# that models an ESP32 RTC not yet set by NTP).
import sys

_path = sys.path[:]
sys.path.clear()
from time import *  # noqa
import time as _builtin  # noqa
sys.path.extend(_path)

import _sim  # noqa

_T0 = _builtin.ticks_ms()


def time():
    if _sim.SIM.get("live_clock"):  # a long-running process (the relay): the test
        clock = _sim.load("clock.json", _sim.CLOCK)  # moves the true time on itself
        return int(clock["now"]) + int(clock.get("offset", 0))
    elapsed = _builtin.ticks_diff(_builtin.ticks_ms(), _T0) // 1000
    return int(_sim.CLOCK["now"]) + int(_sim.CLOCK.get("offset", 0)) + elapsed


def awake_ms():
    return _builtin.ticks_diff(_builtin.ticks_ms(), _T0)
