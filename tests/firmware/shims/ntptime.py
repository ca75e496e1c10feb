# Host shim for ntptime: "setting the RTC" clears the simulated clock offset.
import _sim

host = "pool.ntp.org"
timeout = 1


def settime():
    _sim.append("events.jsonl", {"ntp": host, "ok": bool(_sim.SIM.get("ntp", True))})
    if not _sim.SIM.get("ntp", True):
        raise OSError(110)
    _sim.CLOCK["offset"] = 0
    _sim.save("clock.json", _sim.CLOCK)
