# Host shim for the parts of `machine` the firmware uses, with a simulated Sensirion
# SHT4x on the I2C bus that answers the real command bytes (0xFD measure, 0x94 soft
# reset) with real CRC-8 words. sim.json controls it:
#   sensors: addresses present (default [68] = 0x44)
#   corrupt: measurement numbers whose answer gets one data bit flipped (bad CRC)
#   nack:    measurement numbers whose command is NACKed
#   batt_mv: battery voltage at rest (default 3000); the ADC reads it through the
#            BATT_DIVIDER of 2 as the board's 2 x 1 MOhm divider would
# Every measurement is logged to sensor_log.jsonl; deepsleep() writes sleep.json and
# ends the process, as a real deep sleep ends the program. WDT really resets: a thread
# kills the process when the watchdog is not fed in time. RTC memory is lost on a
# power-on reset (the battery was out), kept across deep sleep and other resets.
import _thread
import os
import sys
import time

import _sim

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
_RESETS = {"poweron": PWRON_RESET, "hard": HARD_RESET, "wdt": WDT_RESET,
           "deepsleep": DEEPSLEEP_RESET, "soft": SOFT_RESET}


def reset_cause():
    return _RESETS.get(_sim.CLOCK.get("reset"), PWRON_RESET)


def unique_id():
    mac = _sim.SIM.get("mac", "a4cf12fe0b3c")
    return bytes(int(mac[i:i + 2], 16) for i in range(0, 12, 2))


def deepsleep(ms=0):
    _sim.save("sleep.json", {"sleep_ms": ms, "awake_ms": time.awake_ms(),
                             "modules": sorted(sys.modules)})
    sys.exit(0)


class Pin:
    IN = 0
    OUT = 1

    def __init__(self, pin, mode=None, value=None):
        self.pin = pin

    def value(self, v=None):
        return 0


class WDT:
    """The ESP32's task watchdog: once created it cannot be stopped; not fed within
    `timeout` ms, it resets the chip (here: kills the process, reset cause "wdt")."""

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self._end = time.ticks_add(time.ticks_ms(), timeout)
        _sim.save("wdt.json", {"timeout_ms": timeout})
        _thread.start_new_thread(self._watch, ())

    def feed(self):
        self._end = time.ticks_add(time.ticks_ms(), self.timeout)

    def _watch(self):
        while time.ticks_diff(self._end, time.ticks_ms()) > 0:
            time.sleep_ms(10)
        _sim.reset_now("wdt")


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin):
        self.pin = pin

    def atten(self, a):
        pass

    def read_uv(self):
        return battery_mv() * 1000 // 2  # behind the 2 x 1 MOhm divider


def battery_mv():
    """The simulated battery's voltage at rest [mV]."""
    return int(_sim.SIM.get("batt_mv", 3000))


if _sim.CLOCK.get("reset") == "poweron":  # the battery was out: RTC memory is gone
    try:
        os.remove(_sim.path("rtc.bin"))
    except OSError:
        pass


class RTC:
    def datetime(self, dt=None):
        """Set (or read) the device clock; dt as (year, month, day, weekday, hours,
        minutes, seconds, subseconds), like the ESP32 port."""
        if dt is None:
            t = time.gmtime(time.time())
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        target = time.mktime((dt[0], dt[1], dt[2], dt[4], dt[5], dt[6], 0, 0))
        _sim.CLOCK["offset"] = int(_sim.CLOCK.get("offset", 0)) + target - time.time()
        _sim.save("clock.json", _sim.CLOCK)
        return None

    def memory(self, data=None):
        if data is None:
            try:
                with open(_sim.path("rtc.bin"), "rb") as f:
                    return f.read()
            except OSError:
                return b""
        if len(data) > 2048:  # the ESP32 port's user RTC memory
            raise ValueError("buffer too long")
        with open(_sim.path("rtc.bin"), "wb") as f:
            f.write(data)
        return None


def _crc8(data):
    """CRC-8 of a 16-bit word as the SHT4x datasheet defines it (polynomial
    x^8 + x^5 + x^4 + 1 = 0x131, initialisation 0xFF, no reflection, no final XOR),
    computed as the remainder of a long division over GF(2): the initial value is
    XORed into the first byte, eight zero bits are appended, and the 9-bit generator
    is subtracted under every set bit from the top down. (The firmware shifts a
    register byte by byte; this is the textbook definition, so a mistake in one is
    not repeated in the other.)"""
    value = ((data[0] ^ 0xFF) << 16) | (data[1] << 8)
    for bit in range(23, 7, -1):
        if value >> bit & 1:
            value ^= 0x131 << (bit - 8)
    return value


def _word(value):
    pair = bytes([value >> 8, value & 0xFF])
    return pair + bytes([_crc8(pair)])


class SimSHT4x:
    """The raw words are a deterministic function of the measurement number n."""

    def __init__(self, addr):
        self.addr = addr
        self.answer = None

    def command(self, buf):
        cmd = bytes(buf)
        if cmd == b"\x94":
            self.answer = None
            _sim.append("sensor_log.jsonl", {"addr": self.addr, "reset": True,
                                             "wake": _sim.CLOCK.get("wake", 0)})
            return
        if cmd != b"\xfd":
            raise OSError(5)
        counter = _sim.load("sensor.json", {"n": 0})
        n = counter["n"]
        counter["n"] = n + 1
        _sim.save("sensor.json", counter)
        if n in _sim.SIM.get("nack", ()):
            _sim.append("sensor_log.jsonl", {"addr": self.addr, "n": n, "nack": True,
                                             "wake": _sim.CLOCK.get("wake", 0)})
            raise OSError(5)
        seed = _sim.SIM.get("seed", 1)
        x = (n * 2654435761 + seed * 40503 + self.addr * 97) & 0xFFFFFFFF
        raw_t = 22469 + x % 3745                     # 15.00-25.00 degC
        urgent = n in _sim.SIM.get("urgent", ())
        raw_rh = 50331 + x % 3000 if urgent else 24117 + (x >> 12) % 20000
        raw = bytearray(_word(raw_t) + _word(raw_rh))
        corrupt = n in _sim.SIM.get("corrupt", ())
        if corrupt:
            raw[(n % 2) * 3 + (n >> 1) % 2] ^= 1 << (n % 8)
        self.answer = bytes(raw)
        _sim.append("sensor_log.jsonl", {
            "addr": self.addr, "n": n, "raw_t": raw_t, "raw_rh": raw_rh,
            "corrupt": corrupt, "wake": _sim.CLOCK.get("wake", 0)})

    def read(self, n):
        if self.answer is None:
            raise OSError(5)  # no measurement pending: the SHT4x NACKs the read
        out, self.answer = self.answer[:n], None
        return out


_SENSORS = {}


class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=400000):
        self.freq = freq

    def _device(self, addr):
        if addr not in _sim.SIM.get("sensors", [0x44]):
            raise OSError(19)  # ENODEV: nobody ACKs the address
        if addr not in _SENSORS:
            _SENSORS[addr] = SimSHT4x(addr)
        return _SENSORS[addr]

    def writeto(self, addr, buf, stop=True):
        self._device(addr).command(buf)
        return len(buf)

    def readfrom(self, addr, nbytes, stop=True):
        return self._device(addr).read(nbytes)

    def readfrom_into(self, addr, buf, stop=True):
        data = self._device(addr).read(len(buf))
        buf[:len(data)] = data
        if len(data) < len(buf):
            raise OSError(5)
