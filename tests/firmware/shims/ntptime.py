# Host shim for micropython-lib's ntptime. sim.json controls the answer:
#   ntp:        false -> no answer (OSError 110, ETIMEDOUT)
#   ntp_hang:   true  -> the request never returns (the ESP32's host lookup has no
#               timeout); only the watchdog ends the wake
#   ntp_error_s: seconds the server's answer is off from true time (a bad server)
# time() answers the simulated true time (the clock without its device offset);
# settime() sets the device clock from it, as ntptime does through machine.RTC.
import time as _time

import _sim

host = "pool.ntp.org"
timeout = 1


def time():
    _sim.append("events.jsonl", {"ntp": host, "ok": bool(_sim.SIM.get("ntp", True))})
    if _sim.SIM.get("ntp_hang"):
        while True:
            _time.sleep_ms(50)
    if not _sim.SIM.get("ntp", True):
        raise OSError(110)
    return _time.time() - int(_sim.CLOCK.get("offset", 0)) + int(_sim.SIM.get("ntp_error_s", 0))


def settime():
    t = time()
    _sim.CLOCK["offset"] += t - _time.time()
    _sim.save("clock.json", _sim.CLOCK)
